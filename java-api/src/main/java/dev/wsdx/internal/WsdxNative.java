package dev.wsdx.internal;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.io.File;
import java.io.IOException;

/**
 * Direct JNA mapping of {@code wsdx.h}. Internal: not part of the API.
 *
 * <p>The library is always loaded by its absolute path, never by its bare name (on Windows
 * {@code LoadLibrary("wsdx.dll")} would bind to whatever copy is already loaded, such as an installed
 * provider of another version, or lies in the working directory or on PATH): the jar's own copy
 * ({@code linux-x86-64/libwsdx.so}, {@code win32-x86-64/wsdx.dll}, ..., extracted by JNA when the jar is
 * not unpacked), or the file that the system property {@value #LIBRARY_PATH_PROPERTY} names (a library
 * file, or a directory that holds it). {@link #LOADED_FROM} says which.
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

    /** The absolute path the library was loaded from. */
    public static final String LOADED_FROM;

    static {
        File f = libraryFile();
        LOADED_FROM = f.getAbsolutePath();
        Native.register(WsdxNative.class, NativeLibrary.getInstance(LOADED_FROM));
    }

    private WsdxNative() {}

    /** The library file to load: the property's, else the jar's copy for this platform. */
    static File libraryFile() {
        String p = System.getProperty(LIBRARY_PATH_PROPERTY);
        if (p != null && !p.isEmpty()) {
            File f = new File(p);
            if (f.isDirectory()) f = new File(f, System.mapLibraryName(LIBRARY));
            if (!f.isFile()) {
                throw new UnsatisfiedLinkError(LIBRARY_PATH_PROPERTY + "=" + p + ": no such library file (" + f + ")");
            }
            return f;
        }
        String resource = Platform.RESOURCE_PREFIX + "/" + System.mapLibraryName(LIBRARY);
        if (WsdxNative.class.getClassLoader().getResource(resource) == null) {
            throw new UnsatisfiedLinkError("this wsdx jar has no native library for " + System.getProperty("os.name")
                    + " on " + System.getProperty("os.arch") + " (" + resource + "); it carries linux-x86-64,"
                    + " win32-x86-64 and win32-x86. Set -D" + LIBRARY_PATH_PROPERTY + " to a library built for this platform.");
        }
        try {
            return Native.extractFromResourcePath(LIBRARY, WsdxNative.class.getClassLoader());
        } catch (IOException e) {
            UnsatisfiedLinkError u = new UnsatisfiedLinkError("cannot extract " + resource + ": " + e.getMessage());
            u.initCause(e);
            throw u;
        }
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
    /** Winsock's MSG_PARTIAL, set in flags[0] by {@link #wsdx_recv_ex} when a message was cut. */
    public static final int MSG_PARTIAL = 0x8000;
    /**
     * {@link #wsdx_recv} reporting a cut message as the count with {@link #MSG_PARTIAL} in flags[0];
     * its WSAEMSGSIZE is then only the fatal frame over the limit.
     */
    public static native int wsdx_recv_ex(long s, Pointer buf, int len, int timeoutMs, int[] flags);

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

    // --- readiness, options, addresses (in-process backend; the installed one fails WSAEOPNOTSUPP)

    /** {@code WSDX_FD_READ}: a receive may make progress. */
    public static final int FD_READ = 0x01;
    /** {@code WSDX_FD_WRITE}: a send may make progress. */
    public static final int FD_WRITE = 0x02;
    /** {@code WSDX_FD_ACCEPT}: a checked connection waits. */
    public static final int FD_ACCEPT = 0x08;
    /** {@code WSDX_FD_CONNECT}: a non-blocking connect ended; the event's error is its result. */
    public static final int FD_CONNECT = 0x10;
    /** {@code WSDX_OPT_TCP_NODELAY}. */
    public static final int OPT_TCP_NODELAY = 1;
    /** {@code WSDX_OPT_KEEPALIVE}. */
    public static final int OPT_KEEPALIVE = 2;
    /** {@code WSDX_OPT_RCVBUF}. */
    public static final int OPT_RCVBUF = 3;
    /** {@code WSDX_OPT_SNDBUF}. */
    public static final int OPT_SNDBUF = 4;

    /** {@code wsdx_event_fn}: {@code void (*)(wsdx_socket s, int events, int error, void *ctx)}. */
    public interface EventFn extends Callback {
        /** Called on the notifier thread; must not block or throw. */
        void invoke(long s, int events, int error, Pointer ctx);
    }

    /** Arms one-shot readiness events ({@code FD_*}); fn null disarms all. */
    public static native int wsdx_select(long s, int events, EventFn fn, Pointer ctx);
    /** wsdx_send that never waits; -WSAEWOULDBLOCK when nothing was taken. */
    public static native int wsdx_try_send(long s, Pointer buf, int len);
    /** wsdx_send_disconnect that never waits; -WSAEWOULDBLOCK, with nothing sent, when it cannot start now. */
    public static native int wsdx_try_send_disconnect(long s, Pointer data, int len);
    /** Sets a {@code OPT_*} option. */
    public static native int wsdx_set_option(long s, int option, int value);
    /** A {@code OPT_*} option's value. */
    public static native int wsdx_get_option(long s, int option);
    /** Local (peer 0) or remote address as text into buf; returns the port. */
    public static native int wsdx_address(long s, int peer, byte[] buf, int cap);
}
