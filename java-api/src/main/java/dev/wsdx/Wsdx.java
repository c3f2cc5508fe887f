package dev.wsdx;

import dev.wsdx.internal.WsdxNative;

/** Facts about the loaded native library, and the choice of {@link Backend}. */
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

    /**
     * The backend that sockets opened now use: {@link Backend#IN_PROCESS} or {@link Backend#INSTALLED},
     * never {@code AUTO}.
     *
     * @throws ProviderNotInstalledException if {@value Backend#PROPERTY} asks for an installed provider
     *     that is not there
     */
    public static Backend backend() throws ProviderNotInstalledException {
        Chosen.check();
        int b = WsdxNative.wsdx_backend();
        if (b < 0) throw notInstalled();
        return Backend.ofNative(b);
    }

    /**
     * Chooses the backend for sockets and servers opened from now on; those already open keep theirs.
     *
     * @return the backend now in use ({@code AUTO} resolved)
     * @throws ProviderNotInstalledException if {@code INSTALLED} is asked for and no provider is installed
     */
    public static Backend useBackend(Backend backend) throws ProviderNotInstalledException {
        int b = WsdxNative.wsdx_use_backend(backend.nativeValue());
        if (b < 0) throw notInstalled();
        Chosen.settled = true; // a successful explicit choice supersedes the property
        return Backend.ofNative(b);
    }

    /** Called before a socket or server is opened: applies {@value Backend#PROPERTY} until it succeeds. */
    static void ensureBackend() throws ProviderNotInstalledException {
        Chosen.check();
    }

    private static ProviderNotInstalledException notInstalled() {
        return new ProviderNotInstalledException(
                "no wsdx provider is installed in the Winsock catalog (" + Backend.PROPERTY + "="
                        + System.getProperty(Backend.PROPERTY, "auto") + ")");
    }

    /**
     * The system property, applied when first needed. A failure is not kept: each new socket tries again
     * (the provider may have been installed since), until it succeeds or {@link #useBackend} is called.
     */
    private static final class Chosen {
        static volatile boolean settled;

        static void check() throws ProviderNotInstalledException {
            if (!settled) apply();
        }

        private static synchronized void apply() throws ProviderNotInstalledException {
            String p = System.getProperty(Backend.PROPERTY);
            if (!settled && p != null && !p.isBlank()) useBackend(Backend.parse(p));
            settled = true;
        }
    }
}
