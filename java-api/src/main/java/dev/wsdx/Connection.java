package dev.wsdx;

import dev.wsdx.internal.CloseDispatcher;
import dev.wsdx.internal.NativeIo;
import dev.wsdx.internal.WsdxNative;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * A wsdx connection: a TCP connection with Winsock shutdown semantics — half-close (S1–S4),
 * disconnect data (S5, S6), linger-controlled close (S7–S10) and a close event (R1–R5).
 *
 * <p>Every method may be called from any thread. After {@link #close()}, every call but
 * {@code close()} fails with {@link SocketClosedException} ({@code WSAENOTSOCK}, S11); a call racing
 * with close fails the same way or completes, it never touches another socket.
 */
public final class Connection implements AutoCloseable {
    /** {@link #shutdown(int)}: stop receiving (S2). */
    public static final int SD_RECEIVE = 0;
    /** {@link #shutdown(int)}: stop sending (S1). */
    public static final int SD_SEND = 1;
    /** {@link #shutdown(int)}: both (S3). */
    public static final int SD_BOTH = 2;
    /** Largest disconnect-data payload in bytes. */
    public static final int MAX_DISCONNECT_DATA = 4096;
    /** Largest message ({@link Mode#MESSAGE}) in bytes. */
    public static final int MAX_MESSAGE = 16 * 1024 * 1024;

    private static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(30);
    private static final Executor DIRECT = Runnable::run;

    private final long handle;
    private final Mode mode;
    private final CloseNotifier notifier = new CloseNotifier(this);
    private volatile boolean connected;
    private volatile boolean closed;
    private volatile boolean blocking = true;
    private volatile Linger linger = Linger.dontLinger();

    private Connection(long handle, Mode mode, boolean connected) {
        this.handle = handle;
        this.mode = mode;
        this.connected = connected;
    }

    /**
     * Opens an unconnected socket.
     *
     * @throws WsdxException if the library cannot make one
     */
    public static Connection open(Mode mode) throws IOException {
        Objects.requireNonNull(mode, "mode");
        Wsdx.ensureBackend();
        long h = WsdxNative.wsdx_socket_open(mode.nativeValue());
        if (h < 0) throw WsdxException.of((int) h, "open");
        return new Connection(h, mode, false);
    }

    /** Opens a socket and connects it to {@code remote} (30 s timeout); the socket is closed if that fails. */
    public static Connection open(InetSocketAddress remote, Mode mode) throws IOException {
        Objects.requireNonNull(remote, "remote");
        Connection c = open(mode);
        try {
            return c.connect(remote);
        } catch (IOException | RuntimeException | Error e) {
            try {
                c.close(Linger.abortive());
            } catch (IOException | RuntimeException s) {
                e.addSuppressed(s);
            }
            throw e;
        }
    }

    /** Wraps a connection returned by accept, with its close callback registered. */
    static Connection accepted(long handle, Mode mode) throws IOException {
        Connection c = new Connection(handle, mode, true);
        c.registerCloseCallback("accept");
        return c;
    }

    /** Connects with the default timeout of 30 s. See {@link #connect(InetSocketAddress, Duration)}. */
    public Connection connect(InetSocketAddress remote) throws IOException {
        return connect(remote, DEFAULT_CONNECT_TIMEOUT);
    }

    /**
     * Connects to {@code remote} and exchanges the wsdx preamble.
     *
     * @return this
     * @throws WsdxProtocolException if the peer is not a wsdx peer of this version and mode (the
     *     socket stays unconnected)
     * @throws WsdxTimeoutException if the timeout passes
     * @throws ConnectionRefusedException if nothing listens there
     * @throws WsdxException {@code WSAEISCONN} if already connected
     */
    public Connection connect(InetSocketAddress remote, Duration timeout) throws IOException {
        Objects.requireNonNull(remote, "remote");
        int ms = Timeouts.positiveMillis(timeout, "connect timeout");
        String host = remote.getAddress() != null ? remote.getAddress().getHostAddress() : remote.getHostString();
        int rc = WsdxNative.wsdx_connect(handle, host, remote.getPort(), ms);
        if (rc < 0) throw WsdxException.of(rc, "connect");
        registerCloseCallback("connect");
        connected = true;
        return this;
    }

    private void registerCloseCallback(String op) throws IOException {
        int rc = CloseDispatcher.register(handle, (error, flags) -> onPeerClose(error, flags));
        if (rc < 0) {
            WsdxException e = WsdxException.of(rc, op + " (close callback)");
            if (rc != -WsaError.WSAENOTSOCK) {
                try {
                    close(Linger.abortive());
                } catch (IOException s) {
                    e.addSuppressed(s);
                }
            }
            throw e;
        }
    }

    /** On the notifier thread: claim the event at once, deliver it elsewhere. */
    private void onPeerClose(int error, int flags) {
        if (closed) return; // closed locally: no peer events any more
        notifier.fire(CloseEvent.of(CloseEvent.Origin.PEER, error, (flags & WsdxNative.CLOSE_DISCONNECT_DATA) != 0),
                CloseNotifier.EVENT_THREADS);
    }

    /** The socket's mode. */
    public Mode mode() {
        return mode;
    }

    /** False once {@link #close()} succeeded. */
    public boolean isOpen() {
        return !closed;
    }

    /** True once connected (or accepted), until closed locally. A peer close does not change it. */
    public boolean isConnected() {
        return connected && !closed;
    }

    /**
     * The local port.
     *
     * @throws NotConnectedException if not connected
     * @throws SocketClosedException if closed (S11)
     */
    public int localPort() throws IOException {
        int rc = WsdxNative.wsdx_local_port(handle);
        if (rc < 0) throw WsdxException.of(rc, "localPort");
        return rc;
    }

    /**
     * Blocking (the default) or non-blocking. A non-blocking socket fails {@code WSAEWOULDBLOCK}
     * instead of waiting: reads and writes return 0, a lingering close throws (S10).
     *
     * @return this
     */
    public Connection configureBlocking(boolean blocking) throws IOException {
        int rc = WsdxNative.wsdx_set_blocking(handle, blocking ? 1 : 0);
        if (rc < 0) throw WsdxException.of(rc, "configureBlocking");
        this.blocking = blocking;
        return this;
    }

    /** Whether the socket blocks. */
    public boolean isBlocking() {
        return blocking;
    }

    /**
     * Writes {@code src.remaining()} bytes, advancing {@code src.position()} by the count taken. In
     * {@link Mode#MESSAGE} mode the whole remainder is one message. A stream write may take fewer
     * bytes; a non-blocking one that cannot proceed returns 0.
     *
     * @return bytes taken
     * @throws ShutdownException after {@code shutdown(SD_SEND)} or {@code sendDisconnect} (S1, S3, S5)
     * @throws MessageTooLargeException a message over {@link #MAX_MESSAGE}
     * @throws ConnectionResetException / ConnectionAbortedException when the connection is gone (R3, R4)
     */
    public int write(ByteBuffer src) throws IOException {
        Objects.requireNonNull(src, "src");
        int n = NativeIo.send(handle, src, mode == Mode.MESSAGE);
        if (n >= 0) return n;
        if (n == -WsaError.WSAEWOULDBLOCK) return 0;
        throw WsdxException.of(n, "send");
    }

    /**
     * Reads into {@code dst}, waiting as long as it takes (blocking socket), and advances its position.
     *
     * <ul>
     *   <li>{@link Mode#STREAM}: returns -1 once the peer closed gracefully and all data was read (R1).
     *   <li>{@link Mode#MESSAGE}: reads one message; throws {@link DisconnectedException} after a
     *       graceful peer close (R2); throws {@link MessageTooLargeException} if the message did not
     *       fit — its first {@code dst.remaining()} bytes were stored (position advanced), the rest dropped.
     *   <li>Non-blocking and nothing to read: returns 0. A {@code dst} without room returns 0 at once.
     * </ul>
     *
     * @throws ShutdownException after {@code shutdown(SD_RECEIVE)} (S2)
     * @throws ConnectionResetException after a peer reset (R3, S8)
     * @throws IllegalArgumentException if {@code dst} is read-only
     */
    public int read(ByteBuffer dst) throws IOException {
        return read0(dst, -1);
    }

    /**
     * {@link #read(ByteBuffer)} waiting at most {@code timeout} ({@link Duration#ZERO}: don't wait).
     *
     * @throws WsdxTimeoutException if nothing arrived in time
     */
    public int read(ByteBuffer dst, Duration timeout) throws IOException {
        return read0(dst, Timeouts.millis(timeout, "read timeout"));
    }

    private int read0(ByteBuffer dst, int timeoutMs) throws IOException {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) throw new IllegalArgumentException("read-only buffer");
        if (!dst.hasRemaining()) return 0;
        int n = NativeIo.recv(handle, dst, timeoutMs, mode == Mode.MESSAGE);
        if (n > 0) return n;
        if (n == 0) return mode == Mode.STREAM ? -1 : 0; // a message of length 0
        if (n == -WsaError.WSAEWOULDBLOCK) return 0;
        throw WsdxException.of(n, "recv");
    }

    /**
     * {@code WSPShutdown}: {@link #SD_RECEIVE}, {@link #SD_SEND} or {@link #SD_BOTH} (S1–S3).
     *
     * @throws WsdxException {@code WSAEINVAL} for a bad {@code how}; {@link NotConnectedException} if
     *     not connected (S4)
     */
    public void shutdown(int how) throws IOException {
        int rc = WsdxNative.wsdx_shutdown(handle, how);
        if (rc < 0) throw WsdxException.of(rc, "shutdown");
    }

    /** {@code shutdown(SD_SEND)} (S1): the peer reads the data sent so far, then a graceful close. */
    public void shutdownOutput() throws IOException {
        shutdown(SD_SEND);
    }

    /** {@code shutdown(SD_RECEIVE)} (S2): later reads fail {@code WSAESHUTDOWN}. */
    public void shutdownInput() throws IOException {
        shutdown(SD_RECEIVE);
    }

    /**
     * {@code WSPSendDisconnect}: sends {@code data}'s remaining bytes as disconnect data, then FIN;
     * sending is over (S5). {@code null} or empty sends none (S6). {@code data}'s position is not moved.
     *
     * @throws IllegalArgumentException if more than {@link #MAX_DISCONNECT_DATA} bytes (nothing is sent)
     */
    public void sendDisconnect(ByteBuffer data) throws IOException {
        if (data != null && data.remaining() > MAX_DISCONNECT_DATA) {
            throw new IllegalArgumentException(
                    "disconnect data of " + data.remaining() + " bytes, over " + MAX_DISCONNECT_DATA);
        }
        int rc = NativeIo.sendDisconnect(handle, data);
        if (rc < 0) throw WsdxException.of(rc, "sendDisconnect");
    }

    /**
     * {@code WSPRecvDisconnect}: stops reception and returns the peer's disconnect data (S5) in a new
     * buffer ready to read; empty if the peer sent none or has not closed yet (S6).
     */
    public ByteBuffer receiveDisconnect() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(MAX_DISCONNECT_DATA);
        receiveDisconnect0(b);
        return b.flip();
    }

    /**
     * {@code WSPRecvDisconnect} into {@code dst}, advancing its position.
     *
     * @return the data's length (0 if none)
     * @throws BufferTooSmallException ({@code WSAEFAULT}) if it does not fit; nothing is consumed
     */
    public int receiveDisconnect(ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) throw new IllegalArgumentException("read-only buffer");
        return receiveDisconnect0(dst);
    }

    private int receiveDisconnect0(ByteBuffer dst) throws IOException {
        int rc = NativeIo.recvDisconnect(handle, dst);
        if (rc < 0) throw WsdxException.of(rc, "receiveDisconnect");
        return rc;
    }

    /** Sets the policy {@link #close()} follows (S7–S10). */
    public void setLinger(Linger linger) throws IOException {
        Objects.requireNonNull(linger, "linger");
        int rc = WsdxNative.wsdx_set_linger(handle, linger.isOn() ? 1 : 0, linger.seconds());
        if (rc < 0) throw WsdxException.of(rc, "setLinger");
        this.linger = linger;
    }

    /** The linger policy last set; {@link Linger#dontLinger()} by default. */
    public Linger linger() {
        return linger;
    }

    /**
     * Aborts the connection when sent data stays unacknowledged for {@code timeout} (TCP user
     * timeout); the close event then reports {@code WSAECONNABORTED} (R4). {@link Duration#ZERO}
     * restores the system default. Sub-millisecond parts round up.
     *
     * @throws IllegalArgumentException if negative
     */
    public void setAbortTimeout(Duration timeout) throws IOException {
        int ms = Timeouts.millis(timeout, "abort timeout");
        int rc = WsdxNative.wsdx_set_abort_timeout(handle, ms);
        if (rc < 0) throw WsdxException.of(rc, "setAbortTimeout");
    }

    /**
     * Send timeout ({@code SO_SNDTIMEO}): a send that cannot complete within {@code timeout}, for
     * a peer that does not read, fails {@link WsdxTimeoutException}. Part of a frame may be out by
     * then, so the connection is aborted: the peer gets a reset, and later calls and the close event
     * report {@code WSAETIMEDOUT}. {@link Duration#ZERO} (the default) waits for ever.
     *
     * @throws IllegalArgumentException if negative
     * @throws WsdxException {@code WSAEOPNOTSUPP} on the installed (Windows provider) backend for now
     */
    public void setSendTimeout(Duration timeout) throws IOException {
        int ms = Timeouts.millis(timeout, "send timeout");
        int rc = WsdxNative.wsdx_set_send_timeout(handle, ms);
        if (rc < 0) throw WsdxException.of(rc, "setSendTimeout");
    }

    /**
     * {@code WSPCloseSocket} with the configured {@linkplain #linger() linger} policy (S7–S9). The
     * close future then completes with a {@link CloseEvent.Origin#LOCAL} event unless a peer event
     * came first; no peer event is delivered afterwards. A second close is a no-op.
     *
     * @throws WouldBlockException non-blocking socket, linger timeout, data still queued: the
     *     connection stays open and usable (S10)
     */
    @Override
    public void close() throws IOException {
        if (closed) return;
        int rc = WsdxNative.wsdx_close(handle);
        if (rc < 0 && rc != -WsaError.WSAENOTSOCK) throw WsdxException.of(rc, "close");
        // closed now, or by a racing close (WSAENOTSOCK): either way no callback follows
        closed = true;
        CloseDispatcher.unregister(handle);
        notifier.fire(CloseEvent.local(), DIRECT);
    }

    /**
     * Sets the linger policy to {@code linger} (it stays set) and closes; see {@link #close()}.
     * A no-op on a closed connection.
     */
    public void close(Linger linger) throws IOException {
        Objects.requireNonNull(linger, "linger");
        if (closed) return;
        int rc = WsdxNative.wsdx_set_linger(handle, linger.isOn() ? 1 : 0, linger.seconds());
        if (rc == -WsaError.WSAENOTSOCK) {
            close(); // closed by a racing close: finish the bookkeeping
            return;
        }
        if (rc < 0) throw WsdxException.of(rc, "close");
        this.linger = linger;
        close();
    }

    /**
     * Calls {@code listener} once on {@code executor} when the connection closes (R1–R5) or is closed
     * locally first; at once (on {@code executor}) if that already happened. Any number of listeners;
     * one that throws is logged and does not affect the others.
     *
     * @return this
     */
    public Connection onClose(CloseListener listener, Executor executor) {
        notifier.add(listener, executor);
        return this;
    }

    /**
     * Completes once with the close event: the peer's FD_CLOSE (R1–R4, once, R5), or a
     * {@link CloseEvent.Origin#LOCAL} event with code 0 if closed locally first. Each call returns a
     * new dependent future; completing it has no effect on others. Peer events complete it on a wsdx
     * event thread, a local close on the closing thread.
     */
    public CompletableFuture<CloseEvent> closeFuture() {
        return notifier.future();
    }

    /** The native handle (for logs). */
    long handle() {
        return handle;
    }

    @Override
    public String toString() {
        return "Connection[" + handle + ", " + mode + (closed ? ", closed" : connected ? ", connected" : "") + "]";
    }
}
