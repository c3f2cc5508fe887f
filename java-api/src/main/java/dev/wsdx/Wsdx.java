package dev.wsdx;

import dev.wsdx.internal.WsdxNative;

/** Facts about the loaded native library. */
public final class Wsdx {
    private Wsdx() {}

    /** The native library's version, "major.minor.patch". */
    public static String version() {
        return WsdxNative.wsdx_version();
    }

    /** Number of open native handles (sockets and listeners), for leak checks. */
    public static int openHandles() {
        return WsdxNative.wsdx_open_handles();
    }
}
