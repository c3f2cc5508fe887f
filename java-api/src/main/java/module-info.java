/**
 * wsdx: TCP connections with Winsock's shutdown semantics (half-close, disconnect data, linger-controlled
 * close, close events). See the package {@link dev.wsdx}.
 *
 * <p>Only {@code dev.wsdx} is exported. {@code dev.wsdx.internal} (the JNA mapping) is opened to JNA
 * alone, which needs it to bind the native methods and call the close callback. On JDK 24 and later,
 * pass {@code --enable-native-access=com.sun.jna} (module path) or {@code --enable-native-access=ALL-UNNAMED}
 * (class path) to the JVM, or it warns that JNA loads a native library.
 */
module dev.wsdx {
    requires com.sun.jna;
    requires static com.sun.jna.platform; // only ProviderInstaller, on Windows, checks elevation with it
    requires org.slf4j;

    exports dev.wsdx;
    opens dev.wsdx.internal to com.sun.jna;
}
