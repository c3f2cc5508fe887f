package dev.wsdx;

import dev.wsdx.internal.WsdxNative;

/** Facts about the loaded native library, and the choice of {@link Backend}. */
public final class Wsdx {
    private Wsdx() {}

    /** The native library's version, "major.minor.patch". */
    public static String version() {
        return WsdxNative.wsdx_version();
    }

    /**
     * Memory budget: bytes that received but unread data (whole messages in {@link Mode#MESSAGE},
     * up to 16 MiB each) may hold across all connections. Past it, a connection holding more than
     * 256 KiB stops reading until the budget frees (TCP flow control slows its peer) while the
     * others go on. Default 256 MiB, or the environment variable {@code WSDX_MEMORY_BUDGET_MB};
     * {@code 0} restores the default.
     *
     * @throws IllegalArgumentException if negative
     */
    public static void setMemoryBudget(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("memory budget < 0: " + bytes);
        WsdxNative.wsdx_set_memory_budget(bytes);
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
        return Backend.ofNative(b);
    }

    /** Called before a socket or server is opened: applies {@value Backend#PROPERTY} once. */
    static void ensureBackend() throws ProviderNotInstalledException {
        Chosen.check();
    }

    private static ProviderNotInstalledException notInstalled() {
        return new ProviderNotInstalledException(
                "no wsdx provider is installed in the Winsock catalog (" + Backend.PROPERTY + "="
                        + System.getProperty(Backend.PROPERTY, "auto") + ")");
    }

    /** The system property, applied when first needed; its failure is kept and repeated. */
    private static final class Chosen {
        private static final ProviderNotInstalledException FAILURE = apply();

        private static ProviderNotInstalledException apply() {
            String p = System.getProperty(Backend.PROPERTY);
            if (p == null || p.isBlank()) return null;
            try {
                useBackend(Backend.parse(p));
                return null;
            } catch (ProviderNotInstalledException e) {
                return e;
            }
        }

        static void check() throws ProviderNotInstalledException {
            if (FAILURE != null) throw notInstalled();
        }
    }
}
