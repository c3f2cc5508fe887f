package dev.wsdx.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the native library could be loaded and agrees with this jar, decided once. A failure is
 * kept with a message that says what to do, so that no raw {@link UnsatisfiedLinkError} (and no
 * {@link NoClassDefFoundError} on later calls) reaches the user. Internal: not part of the API.
 */
public final class NativeStatus {
    private static final Logger log = LoggerFactory.getLogger(NativeStatus.class);
    /** This jar's version, from the build. */
    public static final String JAR_VERSION = jarVersion();
    private static final Throwable CAUSE = probe();

    private NativeStatus() {}

    /**
     * Why the library is unusable, or null if it is usable.
     *
     * @return the cause, or null
     */
    public static Throwable cause() {
        return CAUSE;
    }

    private static Throwable probe() {
        String where = System.getProperty("os.name") + "/" + System.getProperty("os.arch");
        try {
            String v = WsdxNative.wsdx_version();
            if (!sameMajorMinor(v, JAR_VERSION)) {
                return new UnsatisfiedLinkError("the native library " + WsdxNative.LOADED_FROM + " is version " + v
                        + ", this wsdx jar " + JAR_VERSION + ": major.minor must agree");
            }
            if (log.isDebugEnabled()) {
                log.debug("wsdx {} loaded from {} (jar {}, backend {})", v, WsdxNative.LOADED_FROM, JAR_VERSION,
                        WsdxNative.wsdx_backend() == 2 ? "installed" : "in-process");
            }
            return null;
        } catch (LinkageError e) {
            Throwable root = e instanceof ExceptionInInitializerError && e.getCause() != null ? e.getCause() : e;
            UnsatisfiedLinkError u = new UnsatisfiedLinkError("wsdx is not available on " + where + ": " + root.getMessage());
            u.initCause(root);
            log.debug("wsdx native library not available", u);
            return u;
        }
    }

    private static String jarVersion() {
        java.util.Properties p = new java.util.Properties();
        try (java.io.InputStream in = NativeStatus.class.getResourceAsStream("version.properties")) {
            if (in != null) p.load(in);
        } catch (java.io.IOException e) {
            log.debug("cannot read version.properties", e);
        }
        return p.getProperty("version", "unknown");
    }

    /**
     * Whether two versions ("0.2.0", "0.2.0-SNAPSHOT") agree in major and minor.
     *
     * @param a one version
     * @param b the other
     * @return true if their first two numbers are equal
     */
    public static boolean sameMajorMinor(String a, String b) {
        String[] x = a.split("[.-]");
        String[] y = b.split("[.-]");
        return x.length >= 2 && y.length >= 2 && x[0].equals(y[0]) && x[1].equals(y[1]);
    }
}
