package dev.wsdx;

import dev.wsdx.internal.WsdxNative;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listening wsdx socket. It hands out only connections whose preamble checked out; other peers
 * are reset and counted ({@link #rejectedCount()}). Every method may be called from any thread.
 */
public final class Server implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Server.class);

    private final long handle;
    private final Mode mode;
    private final InetSocketAddress localAddress;

    private Server(long handle, Mode mode, InetSocketAddress localAddress) {
        this.handle = handle;
        this.mode = mode;
        this.localAddress = localAddress;
    }

    /** Listens on {@code local} (port 0 picks one) with the default backlog. */
    public static Server bind(InetSocketAddress local, Mode mode) throws IOException {
        return bind(local, mode, 0);
    }

    /**
     * Listens on {@code local} (port 0 picks one).
     *
     * @param backlog pending-connection queue length; {@code <= 0} uses the default
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

    /** The port it listens on. */
    public int localPort() {
        return localAddress.getPort();
    }

    /** The address it listens on, with the actual port. */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** The mode of the connections it accepts. */
    public Mode mode() {
        return mode;
    }

    /**
     * Waits for the next connection. Its close listener is already registered, so no close event is missed.
     *
     * @throws SocketClosedException once closed (S11)
     */
    public Connection accept() throws IOException {
        return accept0(-1);
    }

    /**
     * Waits at most {@code timeout} for the next connection; {@link Duration#ZERO} polls.
     *
     * @throws WsdxTimeoutException when the timeout passes
     * @throws WouldBlockException when polling finds none
     */
    public Connection accept(Duration timeout) throws IOException {
        return accept0(Timeouts.millis(timeout, "accept timeout"));
    }

    private Connection accept0(int timeoutMs) throws IOException {
        long h = WsdxNative.wsdx_accept(handle, timeoutMs);
        if (h < 0) {
            WsdxException e = WsdxException.of((int) h, "accept");
            if (e instanceof TooManyOpenFilesException)
                log.warn("wsdx listener on port {}: no file descriptors left; pausing accepts until some free", localPort(), e);
            throw e;
        }
        return Connection.accepted(h, mode);
    }

    /**
     * Connections refused so far: peers that were not wsdx, of another version or mode, or too slow
     * with their preamble.
     *
     * @throws SocketClosedException once closed (S11)
     */
    public long rejectedCount() throws IOException {
        long n = WsdxNative.wsdx_listener_rejected(handle);
        if (n < 0) throw WsdxException.of((int) n, "rejectedCount");
        return n;
    }

    /** Stops listening; a blocked {@link #accept()} returns with an exception. A second close is a no-op. */
    @Override
    public void close() {
        int rc = WsdxNative.wsdx_close(handle);
        if (rc < 0 && rc != -WsaError.WSAENOTSOCK) {
            log.warn("closing {}: {}", this, WsdxException.of(rc, "close").getMessage());
        }
    }

    @Override
    public String toString() {
        return "Server[" + handle + ", " + mode + ", " + localAddress + "]";
    }
}
