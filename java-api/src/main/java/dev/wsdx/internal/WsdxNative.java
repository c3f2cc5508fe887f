package dev.wsdx.internal;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.File;

/**
 * Direct JNA mapping of {@code wsdx.h}. Internal: not part of the API.
 *
 * <p>The library "wsdx" is found as JNA does ({@code jna.library.path}, the system paths, then
 * {@code linux-x86-64/libwsdx.so} etc. on the class path). The system property {@code wsdx.library.path}
 * overrides that: a library file, or a directory that holds it.
 *
 * <p>Every call returns {@code >= 0} on success and {@code -WSA code} on failure.
 */
public final class WsdxNative {
    /** System property naming the native library file or its directory. */
    public static final String LIBRARY_PATH_PROPERTY = "wsdx.library.path";
    static final String LIBRARY = "wsdx";

    /** {@code WSDX_STREAM}. */
    public static final int STREAM = 1;
    /** {@code WSDX_MESSAGE}. */
    public static final int MESSAGE = 2;
    /** {@code WSDX_CLOSE_DISCONNECT_DATA}: the peer's disconnect frame arrived. */
    public static final int CLOSE_DISCONNECT_DATA = 0x1;
    /** {@code WSDX_MAX_DISCONNECT_DATA}. */
    public static final int MAX_DISCONNECT_DATA = 4096;
    /** {@code WSDX_MAX_MESSAGE}. */
    public static final int MAX_MESSAGE = 16 * 1024 * 1024;

    static {
        Native.register(WsdxNative.class, load());
    }

    private WsdxNative() {}

    private static NativeLibrary load() {
        String p = System.getProperty(LIBRARY_PATH_PROPERTY);
        if (p != null && !p.isEmpty()) {
            File f = new File(p);
            if (f.isFile()) return NativeLibrary.getInstance(f.getAbsolutePath());
            NativeLibrary.addSearchPath(LIBRARY, p);
        }
        return NativeLibrary.getInstance(LIBRARY);
    }

    /** {@code wsdx_close_fn}: {@code void (*)(wsdx_socket s, int error, int flags, void *ctx)}. */
    public interface CloseFn extends Callback {
        /** Called on the notifier thread; must not block or throw. */
        void invoke(long s, int error, int flags, Pointer ctx);
    }

    /** Library version, "major.minor.patch". */
    public static native String wsdx_version();
    /** Name of a WSA code, or "WSA?". */
    public static native String wsdx_error_name(int wsaError);
    /** The calling thread's last WSA error, 0 if none. */
    public static native int wsdx_last_error();

    /** A new unconnected socket of mode {@link #STREAM} or {@link #MESSAGE}; handle or -WSA code. */
    public static native long wsdx_socket_open(int mode);
    /** Connects and exchanges preambles; timeoutMs &lt;= 0 waits 30 s. */
    public static native int wsdx_connect(long s, String host, int port, int timeoutMs);
    /** A listener on host:port (0 picks one); handle or -WSA code. */
    public static native long wsdx_listen(String host, int port, int mode, int backlog);
    /** Local port of a listener or connection. */
    public static native int wsdx_local_port(long s);
    /** Next checked connection; timeoutMs &lt; 0 waits for ever, 0 polls. */
    public static native long wsdx_accept(long listener, int timeoutMs);
    /** Connections the listener refused. */
    public static native long wsdx_listener_rejected(long listener);

    /** Blocking (1, default) or non-blocking (0). */
    public static native int wsdx_set_blocking(long s, int blocking);
    /** Sends len bytes (one message in MESSAGE mode); bytes accepted. */
    public static native int wsdx_send(long s, Pointer buf, int len);
    /** Receives up to len bytes; 0 after a graceful close (stream); timeoutMs &lt; 0 waits for ever. */
    public static native int wsdx_recv(long s, Pointer buf, int len, int timeoutMs);

    /** WSPShutdown (S1-S4). */
    public static native int wsdx_shutdown(long s, int how);
    /** WSPSendDisconnect (S5, S6). */
    public static native int wsdx_send_disconnect(long s, Pointer data, int len);
    /** WSPRecvDisconnect; data length, WSAEFAULT if cap is too small. */
    public static native int wsdx_recv_disconnect(long s, Pointer buf, int cap);

    /** SO_LINGER (onoff != 0) or SO_DONTLINGER. */
    public static native int wsdx_set_linger(long s, int onoff, int seconds);
    /** TCP user timeout in ms (0 = system default) (R4). */
    public static native int wsdx_set_abort_timeout(long s, int ms);
    /** Send timeout in ms (0 = none); on expiry the send fails WSAETIMEDOUT and the connection is aborted. */
    public static native int wsdx_set_send_timeout(long s, int ms);
    /** Bytes all connections' unread received data may hold (0 = default); past it reading pauses. */
    public static native int wsdx_set_memory_budget(long bytes);
    /** WSPCloseSocket with the linger policy (S7-S10); no callback after it returns. */
    public static native int wsdx_close(long s);

    /** Registers the FD_CLOSE callback; a close that already happened is delivered at once. */
    public static native int wsdx_on_close(long s, CloseFn fn, Pointer ctx);

    /** Backend for new sockets: 0 auto, 1 in-process, 2 installed; the one in use or -WSA code. */
    public static native int wsdx_use_backend(int backend);
    /** Backend new sockets use (1 or 2), or -WSA code. */
    public static native int wsdx_backend();

    /** Number of open handles. */
    public static native int wsdx_open_handles();
}
