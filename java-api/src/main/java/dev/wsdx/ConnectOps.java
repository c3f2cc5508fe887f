package dev.wsdx;

import dev.wsdx.internal.Readiness;
import dev.wsdx.internal.WsdxNative;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.CompletableFuture;

/**
 * A connection's connect without a thread waiting in native code: the library's non-blocking
 * connect ({@code wsdx_connect} fails {@code WSAEWOULDBLOCK}, a library connector thread connects,
 * {@code FD_CONNECT} reports the result). Used by a non-blocking {@link Connection#connect}, by
 * {@link Connection#connectAsync}, and by a blocking connect on a virtual thread, which parks on the
 * result instead of pinning its carrier.
 */
final class ConnectOps {
    private static final MethodHandle IS_VIRTUAL = isVirtualHandle();

    private final long handle;
    /** The background connect's result: 0, {@code WSA code}, or {@link Readiness#CLOSED}; null if none. */
    private volatile CompletableFuture<Integer> pending;

    ConnectOps(long handle) {
        this.handle = handle;
    }

    /**
     * Starts a background connect; {@code blocking} says the socket is blocking now (it is made
     * non-blocking for the one call). Returns the result's future, or a negative WSA code when the
     * library refused at once (already connected, a bad address, ...).
     */
    CompletableFuture<Integer> start(String host, int port, int timeoutMs, boolean blocking, int[] refused) {
        if (blocking) WsdxNative.wsdx_set_blocking(handle, 0);
        int rc;
        try {
            rc = WsdxNative.wsdx_connect(handle, host, port, timeoutMs);
        } finally {
            if (blocking) WsdxNative.wsdx_set_blocking(handle, 1);
        }
        if (rc != -WsaError.WSAEWOULDBLOCK) {
            refused[0] = rc < 0 ? rc : -WsaError.WSAEISCONN;
            return null;
        }
        CompletableFuture<Integer> f = new CompletableFuture<>();
        pending = f;
        int armed = Readiness.awaitConnect(handle, f::complete);
        if (armed < 0) f.complete(-armed); // not in-process: cannot happen for a handle that started one
        return f;
    }

    /** The connect in progress or ended and not yet taken, or null. */
    CompletableFuture<Integer> pending() {
        return pending;
    }

    /** The result was taken ({@link Connection#finishConnect()}). */
    void taken() {
        pending = null;
    }

    /** Whether the calling thread is a virtual thread (JDK 21+; false before). */
    static boolean onVirtualThread() {
        if (IS_VIRTUAL == null) return false;
        try {
            return (boolean) IS_VIRTUAL.invokeExact(Thread.currentThread());
        } catch (Throwable t) {
            return false;
        }
    }

    private static MethodHandle isVirtualHandle() {
        try {
            return MethodHandles.publicLookup().findVirtual(Thread.class, "isVirtual",
                    MethodType.methodType(boolean.class));
        } catch (ReflectiveOperationException e) {
            return null; // JDK 17-20: no virtual threads
        }
    }

    /** The exception for a failed background connect's result. */
    static IOException failure(int result) {
        return result == Readiness.CLOSED ? new SocketClosedException("connect: the socket was closed")
                : WsdxException.of(result, "connect");
    }
}
