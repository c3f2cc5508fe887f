package dev.wsdx;

import dev.wsdx.internal.NativeStatus;
import dev.wsdx.internal.WsdxNative;

/**
 * Facts about the native library (whether it is available, its version), and the choice of
 * {@link Backend}. Thread-safe.
 *
 * <p>Command line: {@code java -cp <wsdx, jna and slf4j-api jars> dev.wsdx.Wsdx} (or {@code java -p <jars> -m dev.wsdx/dev.wsdx.Wsdx}) prints
 * the library's version, where it was loaded from and the backend, or why it is not available (exit 1).
 */
public final class Wsdx {
    private Wsdx() {}

    /**
     * Whether the native library loaded and matches this jar. When false, every call that needs it
     * fails {@link UnsupportedOperationException} with {@link #unavailabilityCause()}'s message.
     *
     * @return true if wsdx can be used on this machine
     */
    public static boolean isAvailable() {
        return NativeStatus.cause() == null;
    }

    /**
     * Why wsdx cannot be used here: no native library for this OS and CPU in the jar, a library that
     * failed to load, or one whose version does not match the jar's.
     *
     * @return the cause, or {@code null} if {@link #isAvailable()}
     */
    public static Throwable unavailabilityCause() {
        return NativeStatus.cause();
    }

    /** Fails with a clear message if the library is not usable. */
    static void requireAvailable() {
        Throwable c = NativeStatus.cause();
        if (c != null) throw new UnsupportedOperationException(c.getMessage(), c);
    }

    /**
     * The native library's version.
     *
     * @return "major.minor.patch"
     * @throws UnsupportedOperationException if not {@link #isAvailable()}
     */
    public static String version() {
        requireAvailable();
        return WsdxNative.wsdx_version();
    }

    /**
     * This jar's version; its major.minor agrees with {@link #version()}'s.
     *
     * @return the artifact version, e.g. "0.2.0-SNAPSHOT"
     */
    public static String jarVersion() {
        return NativeStatus.JAR_VERSION;
    }

    /**
     * Memory budget: bytes that received but unread data (whole messages in {@link Mode#MESSAGE},
     * up to 16 MiB each) may hold across all connections. Past it, a connection holding more than
     * 256 KiB stops reading until the budget frees (TCP flow control slows its peer) while the
     * others go on; a peer's close behind those bytes is seen, and its close event delivered, once the
     * application has read up to it. Default 256 MiB, or the environment variable {@code WSDX_MEMORY_BUDGET_MB};
     * {@code 0} restores the default.
     *
     * @param bytes the budget in bytes, or 0 for the default
     * @throws IllegalArgumentException if negative
     */
    public static void setMemoryBudget(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("memory budget < 0: " + bytes);
        WsdxNative.wsdx_set_memory_budget(bytes);
    }

    /**
     * Number of open native handles (sockets and listeners), for leak checks. A closed one counts
     * until the library's notifier thread has freed it: soon after {@code close()} returns, not
     * necessarily before, so a leak check waits for the count to settle.
     *
     * @return the count
     * @throws UnsupportedOperationException if not {@link #isAvailable()}
     */
    public static int openHandles() {
        requireAvailable();
        return WsdxNative.wsdx_open_handles();
    }

    /**
     * The backend that sockets opened now use: {@link Backend#IN_PROCESS} or {@link Backend#INSTALLED},
     * never {@code AUTO}.
     *
     * @return the backend
     * @throws ProviderNotInstalledException if {@value Backend#PROPERTY} asks for an installed provider
     *     that is not there
     */
    public static Backend backend() throws ProviderNotInstalledException {
        requireAvailable();
        Chosen.check();
        int b = WsdxNative.wsdx_backend();
        if (b < 0) throw notInstalled(-b);
        return Backend.ofNative(b);
    }

    /**
     * Chooses the backend for sockets and servers opened from now on; those already open keep theirs.
     *
     * @param backend the backend to use
     * @return the backend now in use ({@code AUTO} resolved)
     * @throws ProviderNotInstalledException if {@code INSTALLED} is asked for and no provider is installed
     */
    public static Backend useBackend(Backend backend) throws ProviderNotInstalledException {
        requireAvailable();
        int b = WsdxNative.wsdx_use_backend(backend.nativeValue());
        if (b < 0) throw notInstalled(-b);
        Chosen.settled = true; // a successful explicit choice supersedes the property
        return Backend.ofNative(b);
    }

    /** Called before a socket or server is opened: applies {@value Backend#PROPERTY} until it succeeds. */
    static void ensureBackend() throws ProviderNotInstalledException {
        requireAvailable();
        Preloaded.ensure();
        Chosen.check();
    }

    /** The classes an error path needs, loaded before the first socket (see {@link WsdxException#preload}). */
    private static final class Preloaded {
        static {
            WsdxException.preload();
        }

        static void ensure() {
            // the class initializer did the work, once
        }
    }

    /**
     * Prints the library's version, path and backend, or why it is unavailable (exit status 1).
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        String line = describe();
        System.out.println(line);
        if (!isAvailable()) System.exit(1);
    }

    /** {@link #main}'s line: the versions, where the library came from and the backend, or why it is unavailable. */
    static String describe() {
        Throwable c = unavailabilityCause();
        if (c != null) return "wsdx " + jarVersion() + ": not available: " + c.getMessage();
        String backend;
        try {
            backend = backend().toString();
        } catch (ProviderNotInstalledException e) {
            backend = e.getMessage();
        }
        return "wsdx " + jarVersion() + ": native " + version() + " from " + WsdxNative.LOADED_FROM + ", backend "
                + backend;
    }

    /** code: WSAEPROTONOSUPPORT (none installed), or the error of a provider whose DLL does not start. */
    private static ProviderNotInstalledException notInstalled(int code) {
        String why = code == WsaError.WSAEPROTONOSUPPORT
                ? "no wsdx provider is installed in the Winsock catalog"
                : "the wsdx provider in the Winsock catalog does not start (WSA error " + code + ")";
        return new ProviderNotInstalledException(
                why + " (" + Backend.PROPERTY + "=" + System.getProperty(Backend.PROPERTY, "auto") + ")");
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
