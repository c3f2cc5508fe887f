package dev.wsdx;

import dev.wsdx.internal.NativeWait;
import dev.wsdx.internal.Readiness;
import dev.wsdx.internal.WsdxNative;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listening wsdx socket. It hands out only connections whose preamble checked out; other peers
 * are reset and counted ({@link #rejectedCount()}, and logged at DEBUG). Thread-safe: every method
 * may be called from any thread.
 */
public final class Server implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Server.class);

    private final long handle;
    private final Mode mode;
    private final InetSocketAddress localAddress;
    private final LeakTracker.Handle tracked;
    private volatile boolean closing;
    private final NativeWait waiter = new NativeWait(this); // a platform thread's interruptible wait
    private final java.util.concurrent.atomic.AtomicLong rejectedSeen = new java.util.concurrent.atomic.AtomicLong();

    private Server(long handle, Mode mode, InetSocketAddress localAddress) {
        this.handle = handle;
        this.mode = mode;
        this.localAddress = localAddress;
        this.tracked = LeakTracker.track(this, handle, "Server");
    }

    /**
     * Listens on {@code local} (port 0 picks one) with the default backlog.
     *
     * @param local the address to listen on
     * @param mode the mode of the connections it accepts
     * @return the server
     * @throws IOException as {@link #bind(InetSocketAddress, Mode, int)}
     */
    public static Server bind(InetSocketAddress local, Mode mode) throws IOException {
        return bind(local, mode, 0);
    }

    /**
     * Listens on {@code local} (port 0 picks one).
     *
     * @param local the address to listen on
     * @param mode the mode of the connections it accepts
     * @param backlog pending-connection queue length; {@code <= 0} uses the default (4096). The server holds at
     *     most this many connections that are handshaking or waiting for {@link #accept()}; further ones wait in
     *     the kernel's backlog
     * @return the server
     * @throws WsdxException if the address cannot be bound ({@code WSAEADDRINUSE}, ...)
     * @throws UnsupportedOperationException if wsdx is not {@linkplain Wsdx#isAvailable() available} here
     */
    public static Server bind(InetSocketAddress local, Mode mode, int backlog) throws IOException {
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(mode, "mode");
        InetAddress a = local.getAddress();
        String host = a != null ? a.getHostAddress() : local.getHostString();
        Wsdx.ensureBackend();
        long h = WsdxNative.wsdx_listen(host, local.getPort(), mode.nativeValue(), backlog);
        if (h < 0) throw WsdxException.of((int) h, "listen");
        int port = WsdxNative.wsdx_local_port(h);
        if (port < 0) {
            WsdxNative.wsdx_close(h);
            throw WsdxException.of(port, "listen (local port)");
        }
        InetSocketAddress bound = a != null ? new InetSocketAddress(a, port)
                : InetSocketAddress.createUnresolved(local.getHostString(), port);
        return new Server(h, mode, bound);
    }

    /**
     * The port it listens on.
     *
     * @return the port
     */
    public int localPort() {
        return localAddress.getPort();
    }

    /**
     * The address it listens on, with the actual port.
     *
     * @return the address
     */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /**
     * The mode of the connections it accepts.
     *
     * @return the mode
     */
    public Mode mode() {
        return mode;
    }

    /**
     * Waits for the next connection. Its close listener is already registered, so no close event is missed.
     * A platform thread waits in the library; a virtual thread parks, so its carrier is free. As for an
     * {@link java.nio.channels.InterruptibleChannel}, {@link Thread#interrupt()} closes the server and
     * the waiting accept throws {@link java.nio.channels.ClosedByInterruptException}.
     *
     * @return the connection
     * @throws SocketClosedException once closed, also when {@link #close()} ends a waiting accept (S11)
     */
    public Connection accept() throws IOException {
        return accept0(-1);
    }

    /**
     * Waits at most {@code timeout} for the next connection; {@link Duration#ZERO} polls.
     *
     * @param timeout how long to wait
     * @return the connection
     * @throws WsdxTimeoutException ({@link java.net.SocketTimeoutException}) when a positive timeout passes
     * @throws WouldBlockException when polling finds none
     * @throws SocketClosedException once closed (S11)
     */
    public Connection accept(Duration timeout) throws IOException {
        return accept0(Timeouts.millis(timeout, "accept timeout"));
    }

    /** An accept that succeeded just as an interrupt closed the server: nobody will get the connection. */
    private static void releaseLost(long h) {
        if (h >= 0) WsdxNative.wsdx_close(h);
    }

    private Connection accept0(int timeoutMs) throws IOException {
        long h;
        if (timeoutMs == 0) {
            h = WsdxNative.wsdx_accept(handle, 0);
        } else if (!AsyncOps.parks(handle)) { // the library wakes it directly
            h = waiter.call(() -> WsdxNative.wsdx_accept(handle, timeoutMs), Server::releaseLost);
        } else { // a virtual thread parks until FD_ACCEPT instead of pinning its carrier in native code
            long deadline = AsyncOps.deadline(timeoutMs);
            while ((h = WsdxNative.wsdx_accept(handle, 0)) == -WsaError.WSAEWOULDBLOCK) {
                AsyncOps.park(handle, WsdxNative.FD_ACCEPT, deadline, this, "accept");
            }
        }
        if (h < 0) {
            int rc = (int) h;
            if (rc == -WsaError.WSAEINTR && closing) rc = -WsaError.WSAENOTSOCK; // close() ended it: S11 as promised
            if (rc == -WsaError.WSAETIMEDOUT && timeoutMs == 0) rc = -WsaError.WSAEWOULDBLOCK; // a poll: one signal
            IOException e = WsdxException.of(rc, "accept");
            if (e instanceof TooManyOpenFilesException)
                log.warn("wsdx listener on port {}: no file descriptors left; pausing accepts until some free", localPort(), e);
            throw e;
        }
        if (log.isDebugEnabled()) logRejected();
        return Connection.accepted(h, mode);
    }

    /** DEBUG: peers refused since the last look (the library resets them; only the count is visible). */
    private void logRejected() {
        long n = WsdxNative.wsdx_listener_rejected(handle);
        long before = rejectedSeen.getAndAccumulate(n, Math::max);
        if (n > before) log.debug("{}: rejected {} peer(s) that were not wsdx peers of this version and mode ({} in all)",
                this, n - before, n);
    }

    /**
     * Connections refused so far: peers that were not wsdx, of another version or mode, or too slow
     * with their preamble.
     *
     * @return the count
     * @throws SocketClosedException once closed (S11)
     */
    public long rejectedCount() throws IOException {
        long n = WsdxNative.wsdx_listener_rejected(handle);
        if (n < 0) throw WsdxException.of((int) n, "rejectedCount");
        return n;
    }

    /**
     * Stops listening and releases the handle; a blocked {@link #accept()} fails
     * {@link SocketClosedException}. A second close is a no-op.
     */
    @Override
    public void close() {
        closing = true;
        int rc = WsdxNative.wsdx_close(handle);
        tracked.release();
        Readiness.closed(handle); // a parked accept wakes and finds the handle gone
        if (rc < 0 && rc != -WsaError.WSAENOTSOCK) {
            log.warn("closing {}: {}", this, WsdxException.of(rc, "close").getMessage());
        }
    }

    // ------------------------------------------------------------------ event-driven API

    /**
     * {@link #acceptAsync(Executor)} on the default executor.
     *
     * @return a future of the next connection
     */
    public CompletableFuture<Connection> acceptAsync() {
        return acceptAsync(AsyncOps.DEFAULT_EXECUTOR);
    }

    /**
     * The next connection, without a thread waiting: the library's FD_ACCEPT resumes the accept on
     * {@code executor}, which also completes the future and becomes the connection's
     * {@linkplain Connection#executor() executor}. Fails with {@link SocketClosedException} once closed.
     *
     * @param executor runs the completion
     * @return a future of the next connection
     */
    public CompletableFuture<Connection> acceptAsync(Executor executor) {
        Objects.requireNonNull(executor, "executor");
        CompletableFuture<Connection> f = new CompletableFuture<>();
        AsyncOps.start(executor, () -> tryAccept(f, executor), f, null);
        return f;
    }

    private void tryAccept(CompletableFuture<Connection> f, Executor executor) {
        long h = WsdxNative.wsdx_accept(handle, 0);
        if (h == -WsaError.WSAEWOULDBLOCK) {
            AsyncOps.when(handle, WsdxNative.FD_ACCEPT, executor, () -> tryAccept(f, executor), f, null, "accept");
            return;
        }
        try {
            if (h < 0) throw WsdxException.of((int) h, "accept");
            f.complete(Connection.accepted(h, mode).executor(executor));
        } catch (IOException e) {
            f.completeExceptionally(e);
        }
    }

    @Override
    public String toString() {
        return "Server[" + handle + ", " + mode + ", " + localAddress + "]";
    }
}
