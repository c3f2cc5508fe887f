package dev.wsdx;

import dev.wsdx.internal.CloseDispatcher;
import dev.wsdx.internal.NativeIo;
import dev.wsdx.internal.NativeWait;
import dev.wsdx.internal.Readiness;
import dev.wsdx.internal.WsdxNative;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A wsdx connection: a TCP connection with Winsock shutdown semantics — half-close (S1–S4),
 * disconnect data (S5, S6), linger-controlled close (S7–S10) and a close event (R1–R5).
 *
 * The row ids are those of the project's contract, {@code docs/shutdown-contract.md}.
 *
 * <p>Thread-safe: every method may be called from any thread. After {@link #close()}, every call but
 * {@code close()}, the accessors and {@link #receiveDisconnect()} (which returns the data the close
 * event saw) fails with {@link SocketClosedException} ({@code WSAENOTSOCK}, S11); a call racing with
 * close, or blocked when it came, fails the same way or completes, it never touches another socket.
 *
 * <p>A blocking {@code read} on a platform thread waits in the library (the kernel wakes it
 * directly); on a virtual thread it parks until the library's readiness event, so the carrier is
 * free, and so does a blocking {@code write} that finds the send buffer full. (On the installed
 * Windows provider's handles every thread waits in the library: {@code docs/windows.md}.) Either way
 * {@link Thread#interrupt()} ends the wait as for an {@link java.nio.channels.InterruptibleChannel}:
 * the connection is closed and the call throws {@link java.nio.channels.ClosedByInterruptException}.
 * The {@code *Async} calls wait without a thread at all and complete on the connection's {@linkplain #executor() executor}. As in NIO.2, a
 * call made from a completion that runs on that executor tries at once on the same thread, so its
 * future may be complete when it returns (at most 16 such calls per task; then it hands off).
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

    /**
     * An executor for {@link #onClose}: the listener runs on the library's notifier thread, the
     * thread the kernel woke, as a Netty handler runs on its event loop. The notice then takes one
     * thread wake-up instead of two. That thread serves every socket, so such a listener must be short
     * and must not block: no blocking {@code read}, {@code write} or {@code accept}, no waiting for
     * other threads or for {@link #closeFuture()}. It may make non-blocking calls, call
     * {@link #receiveDisconnect()}, and {@link #close()}: a close made there while another thread is
     * closing the same connection returns at once, and the close is finished on another thread. With
     * a linger timeout set, a close there waits up to that timeout and every socket's events wait with
     * it: close with {@link Linger#dontLinger()} or {@link Linger#abortive()} there. A peer's close runs
     * it on the notifier thread before the close future completes; a local close runs it on the
     * closing thread (for a close made by {@link Thread#interrupt()}, a wsdx thread or the interrupted
     * one), a listener added after the event runs at once on the adding thread, and one
     * added while the event is being made runs on a wsdx event thread. Passed anywhere else, it runs
     * tasks at once on the calling thread.
     */
    public static final Executor NOTIFIER_THREAD = CloseNotifier.NOTIFIER_THREAD;

    private static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(30);
    private static final Executor DIRECT = Runnable::run;

    private static final Logger log = LoggerFactory.getLogger(Connection.class);

    private final long handle;
    private final Mode mode;
    private final CloseNotifier notifier = new CloseNotifier(this);
    private final LeakTracker.Handle tracked;
    private final PeerClose peer;
    private final ReentrantLock closeLock = new ReentrantLock();
    private volatile boolean connected;
    private volatile boolean closing; // set before the native close, so a call it ends reports S11
    private volatile boolean closed;
    private volatile boolean blocking = true;
    private volatile Linger linger = Linger.dontLinger();
    private volatile PeerSink sink; // the close callback's, once registered
    private volatile boolean waitedOn; // onClose or closeFuture was called: pin while the event is due
    private final NativeWait waiter = new NativeWait(this); // a platform thread's interruptible wait
    private volatile int sendTimeoutMs; // 0: none; else the library's blocking send enforces it (and aborts)
    private final AsyncOps async;
    private final ConnectOps connector;

    private Connection(long handle, Mode mode, boolean connected) {
        this.handle = handle;
        this.mode = mode;
        this.connected = connected;
        this.tracked = LeakTracker.track(this, handle, "Connection");
        this.peer = new PeerClose(handle, notifier);
        this.async = new AsyncOps(this, handle, mode == Mode.MESSAGE);
        this.connector = new ConnectOps(handle);
    }

    /**
     * Opens an unconnected socket.
     *
     * @param mode stream or message
     * @return the socket
     * @throws WsdxException if the library cannot make one
     * @throws UnsupportedOperationException if wsdx is not {@linkplain Wsdx#isAvailable() available} here
     */
    public static Connection open(Mode mode) throws IOException {
        Objects.requireNonNull(mode, "mode");
        Wsdx.ensureBackend();
        long h = WsdxNative.wsdx_socket_open(mode.nativeValue());
        if (h < 0) throw WsdxException.of((int) h, "open");
        return new Connection(h, mode, false);
    }

    /**
     * Opens a socket and connects it to {@code remote} (30 s timeout); the socket is closed if that fails.
     *
     * @param remote the server's address
     * @param mode stream or message; the server's must be the same
     * @return the connected socket
     * @throws IOException as {@link #connect(InetSocketAddress, Duration)}
     */
    public static Connection open(InetSocketAddress remote, Mode mode) throws IOException {
        return open(remote, mode, DEFAULT_CONNECT_TIMEOUT);
    }

    /** Wraps a connection returned by accept, with its close callback registered. */
    static Connection accepted(long handle, Mode mode) throws IOException {
        Connection c = new Connection(handle, mode, true);
        c.registerCloseCallback("accept");
        return c;
    }

    /**
     * Connects with the default timeout of 30 s. See {@link #connect(InetSocketAddress, Duration)}.
     *
     * @param remote the server's address
     * @return this
     * @throws IOException as {@link #connect(InetSocketAddress, Duration)}
     */
    public Connection connect(InetSocketAddress remote) throws IOException {
        return connect(remote, DEFAULT_CONNECT_TIMEOUT);
    }

    /**
     * Connects to {@code remote} and exchanges the wsdx preamble.
     *
     * <p>A blocking socket returns once connected. On a virtual thread it parks meanwhile (the
     * library connects on its own threads), so the carrier is free; an interrupt closes the socket
     * and throws {@link java.nio.channels.ClosedByInterruptException}. A non-blocking socket returns
     * at once with the connect in progress, as {@code SocketChannel.connect} does: see
     * {@link #isConnectionPending()} and {@link #finishConnect()}, or use {@link #connectAsync}.
     *
     * @param remote the server's address
     * @param timeout the longest wait (positive)
     * @return this
     * @throws WsdxProtocolException if the peer is not a wsdx peer of this version and mode (the
     *     socket stays unconnected)
     * @throws WsdxTimeoutException if the timeout passes
     * @throws ConnectionRefusedException if nothing listens there
     * @throws WsdxException {@code WSAEISCONN} if already connected, {@code WSAEALREADY} if a
     *     non-blocking connect is in progress
     */
    public Connection connect(InetSocketAddress remote, Duration timeout) throws IOException {
        Objects.requireNonNull(remote, "remote");
        int ms = Timeouts.positiveMillis(timeout, "connect timeout");
        String host = remote.getAddress() != null ? remote.getAddress().getHostAddress() : remote.getHostString();
        boolean background = Readiness.supported(handle) && (!blocking || ConnectOps.onVirtualThread());
        if (!background) {
            int rc = WsdxNative.wsdx_connect(handle, host, remote.getPort(), ms);
            if (rc < 0) throw fail(rc, "connect");
            connectedNow("connect");
            return this;
        }
        int[] refused = new int[1];
        CompletableFuture<Integer> f = connector.start(host, remote.getPort(), ms, blocking, refused);
        if (f == null) throw fail(refused[0], "connect");
        if (!blocking) return this;
        try {
            f.get(); // a virtual thread parks here
        } catch (InterruptedException e) {
            ClosedByInterruptException x = new ClosedByInterruptException();
            try {
                close(Linger.abortive());
            } catch (IOException s) {
                x.addSuppressed(s);
            }
            Thread.currentThread().interrupt();
            throw x;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause()); // the future only ever completes normally
        }
        finishConnect();
        return this;
    }

    /**
     * Whether a non-blocking {@link #connect} is in progress, or ended and not yet
     * {@linkplain #finishConnect() finished}.
     *
     * @return true while a connect waits to be finished
     */
    public boolean isConnectionPending() {
        return connector.pending() != null && !connected;
    }

    /**
     * Finishes a non-blocking {@link #connect}, as {@code SocketChannel.finishConnect} does: true once
     * connected, false while the connect is still in progress; throws its failure once (the socket is
     * then unconnected and may connect again).
     *
     * @return whether the socket is connected
     * @throws NotConnectedException if no connect was started
     * @throws IOException the connect's failure, as {@link #connect(InetSocketAddress, Duration)}
     */
    public boolean finishConnect() throws IOException {
        if (connected) return true;
        CompletableFuture<Integer> f = connector.pending();
        if (f == null) throw new NotConnectedException("finishConnect: no connect was started");
        if (!f.isDone()) return false;
        int result = f.join();
        connector.taken();
        if (result != 0) throw result == Readiness.CLOSED ? ConnectOps.failure(result) : fail(-result, "connect");
        connectedNow("connect");
        return true;
    }

    /**
     * Connects without a waiting thread: the library connects on its own threads and the future
     * completes on this connection's {@linkplain #executor() executor}, with this connection or the
     * exception {@link #connect(InetSocketAddress, Duration)} would throw. The blocking mode is kept.
     *
     * @param remote the server's address
     * @param timeout the longest wait (positive)
     * @return the connect's completion
     */
    public CompletableFuture<Connection> connectAsync(InetSocketAddress remote, Duration timeout) {
        Objects.requireNonNull(remote, "remote");
        CompletableFuture<Connection> out = new CompletableFuture<>();
        Executor ex = async.executor();
        if (!Readiness.supported(handle)) { // the installed backend connects blocking: on the executor
            AsyncOps.run(ex, () -> completeWith(out, () -> connect(remote, timeout)), out, null);
            return out;
        }
        try {
            int ms = Timeouts.positiveMillis(timeout, "connect timeout");
            String host = remote.getAddress() != null ? remote.getAddress().getHostAddress() : remote.getHostString();
            int[] refused = new int[1];
            CompletableFuture<Integer> f = connector.start(host, remote.getPort(), ms, blocking, refused);
            if (f == null) throw fail(refused[0], "connect");
            f.whenComplete((r, t) -> AsyncOps.run(ex, () -> completeWith(out, () -> {
                finishConnect();
                return this;
            }), out, null));
        } catch (IOException | RuntimeException e) {
            out.completeExceptionally(e);
        }
        return out;
    }

    /** A connect step that may throw. */
    private interface ConnectStep {
        Connection run() throws IOException;
    }

    private static void completeWith(CompletableFuture<Connection> out, ConnectStep step) {
        try {
            out.complete(step.run());
        } catch (IOException | RuntimeException e) {
            out.completeExceptionally(e);
        }
    }

    /**
     * Opens a socket and connects it without a waiting thread ({@link #connectAsync}); the socket is
     * closed if that fails.
     *
     * @param remote the server's address
     * @param mode stream or message; the server's must be the same
     * @param timeout how long the connect and the preamble exchange may take
     * @return the connected socket's completion, on the default executor
     */
    public static CompletableFuture<Connection> openAsync(InetSocketAddress remote, Mode mode, Duration timeout) {
        Connection c;
        try {
            c = open(mode);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return c.connectAsync(remote, timeout).whenComplete((ok, t) -> {
            if (t != null) {
                try {
                    c.close(Linger.abortive());
                } catch (IOException | RuntimeException s) {
                    t.addSuppressed(s);
                }
            }
        });
    }

    private void connectedNow(String op) throws IOException {
        registerCloseCallback(op);
        connected = true;
    }

    private void registerCloseCallback(String op) throws IOException {
        PeerSink ps = new PeerSink(this);
        if (waitedOn) ps.pin(this);
        sink = ps;
        int rc = CloseDispatcher.register(handle, ps);
        if (rc < 0) {
            IOException e = WsdxException.of(rc, op + " (close callback)");
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

    /**
     * The close callback's sink. It reaches the connection only weakly, so that the dispatcher's table
     * never keeps a dropped connection alive (its cleaner then releases the handle), until somebody
     * waits for the close event ({@link #onClose}, {@link #closeFuture()}): as a channel registered
     * with a selector, the connection then stays reachable until its event came.
     */
    private static final class PeerSink implements CloseDispatcher.Sink {
        private final WeakReference<Connection> ref;
        private volatile Connection pinned;

        PeerSink(Connection c) {
            ref = new WeakReference<>(c);
        }

        void pin(Connection c) {
            pinned = c;
        }

        @Override
        public void closed(int error, int flags) {
            Connection c = ref.get();
            pinned = null;
            if (c != null) c.onPeerClose(error, flags);
        }
    }

    /** Somebody waits for the close event: keep this connection reachable until it comes. */
    private void waitedOn() {
        waitedOn = true;
        PeerSink ps = sink;
        if (ps != null) ps.pin(this);
    }

    /**
     * On the notifier thread: claim the event at once, make and deliver it on an event thread, or here
     * for {@link #NOTIFIER_THREAD} listeners (taking the disconnect data is then a library call made on
     * the notifier thread: it waits only for this socket's lock).
     */
    private void onPeerClose(int error, int flags) {
        if (closing) return; // closed locally: no peer events any more
        async.peerClosed();
        boolean data = (flags & WsdxNative.CLOSE_DISCONNECT_DATA) != 0;
        if (error != 0 && log.isDebugEnabled()) {
            log.debug("{}: peer close {} ({})", this, CloseEvent.causeOf(error), WsaError.name(error));
        }
        notifier.fire(() -> peer.event(error, data, closing), CloseEvent.of(CloseEvent.Origin.PEER, error, data),
                CloseNotifier.EVENT_THREADS);
    }

    /**
     * The one place a failed call becomes an exception: a call that a concurrent {@link #close()}
     * ended ({@code WSAEINTR}) reports the socket closed (S11), as promised.
     */
    private IOException fail(int rc, String op) {
        int code = rc < 0 ? -rc : rc;
        if (code == WsaError.WSAEINTR && closing) rc = -WsaError.WSAENOTSOCK;
        switch (code) {
            case WsaError.WSAECONNRESET:
            case WsaError.WSAECONNABORTED:
            case WsaError.WSAEDISCON:
            case WsaError.WSAEPROTONOSUPPORT:
            case WsaError.WSAVERNOTSUPPORTED:
            case WsaError.WSAEPROTOTYPE:
                if (connected) peer.saw(code == WsaError.WSAEDISCON ? 0 : code);
                break;
            default:
                break;
        }
        return WsdxException.of(rc, op);
    }

    /**
     * The socket's mode.
     *
     * @return stream or message
     */
    public Mode mode() {
        return mode;
    }

    /**
     * Whether the handle is still open.
     *
     * @return false once {@link #close()} was called
     */
    public boolean isOpen() {
        return !closed;
    }

    /**
     * Whether connected.
     *
     * @return true once connected (or accepted), until closed locally; a peer close does not change it
     */
    public boolean isConnected() {
        return connected && !closed;
    }

    /**
     * The local port.
     *
     * @return the port
     * @throws NotConnectedException if not connected
     * @throws SocketClosedException if closed (S11)
     */
    public int localPort() throws IOException {
        int rc = WsdxNative.wsdx_local_port(handle);
        if (rc < 0) throw fail(rc, "localPort");
        return rc;
    }

    /**
     * Blocking (the default) or non-blocking. A non-blocking socket fails {@code WSAEWOULDBLOCK}
     * instead of waiting: a read or write that can move nothing throws {@link WouldBlockException},
     * {@link #closeSocket()} with a linger timeout and data queued throws it too (S10).
     *
     * @param blocking true to block
     * @return this
     * @throws SocketClosedException if closed (S11)
     */
    public Connection configureBlocking(boolean blocking) throws IOException {
        int rc = WsdxNative.wsdx_set_blocking(handle, blocking ? 1 : 0);
        if (rc < 0) throw fail(rc, "configureBlocking");
        this.blocking = blocking;
        return this;
    }

    /**
     * Whether the socket blocks.
     *
     * @return true if blocking
     */
    public boolean isBlocking() {
        return blocking;
    }

    /**
     * Writes {@code src.remaining()} bytes, advancing {@code src.position()} by the count taken. In
     * {@link Mode#MESSAGE} mode the whole remainder is one message. A stream write may take fewer
     * bytes; a non-blocking one that can take nothing throws {@link WouldBlockException}.
     *
     * @param src the bytes to send
     * @return bytes taken
     * @throws ShutdownException after {@code shutdown(SD_SEND)} or {@code sendDisconnect} (S1, S3, S5)
     * @throws MessageTooLargeException a message over {@link #MAX_MESSAGE}
     * @throws ConnectionResetException when the peer reset the connection (R3)
     * @throws ConnectionAbortedException when the connection was lost (R4)
     * @throws WouldBlockException non-blocking, and nothing could be taken now
     * @throws SocketClosedException if closed, before or during the call (S11)
     */
    public int write(ByteBuffer src) throws IOException {
        Objects.requireNonNull(src, "src");
        // with a send timeout the library's own blocking send runs it (it aborts the connection on expiry)
        int n = blocking && sendTimeoutMs == 0 && Readiness.supported(handle) ? writeParking(src)
                : NativeIo.send(handle, src, mode == Mode.MESSAGE);
        if (n >= 0) return n;
        throw fail(n, "send");
    }

    /**
     * Reads into {@code dst}, waiting as long as it takes (blocking socket), and advances its position.
     *
     * <ul>
     *   <li>{@link Mode#STREAM}: returns -1 once the peer closed gracefully and all data was read (R1).
     *   <li>{@link Mode#MESSAGE}: reads one message; throws {@link DisconnectedException} after a
     *       graceful peer close (R2); throws {@link MessageTooLargeException} if the message did not
     *       fit — its first {@code dst.remaining()} bytes were stored (position advanced), the rest dropped,
     *       and the connection goes on.
     *   <li>After a protocol error (the peer sent an unknown frame type, or a frame over the 16 MiB limit)
     *       the bytes that preceded it are returned first; then this and every later read throws
     *       {@link WsdxProtocolException} with the error's code ({@code WSAEMSGSIZE} for the oversized
     *       frame), and the close event carries the same code.
     *   <li>Non-blocking and nothing to read: throws {@link WouldBlockException} (so that 0 is
     *       never ambiguous: it is an empty message, or a {@code dst} without room, which returns 0 at once).
     * </ul>
     *
     * @param dst where the bytes go
     * @return bytes read, or -1 at the end of a stream
     * @throws ShutdownException after {@code shutdown(SD_RECEIVE)} (S2)
     * @throws ConnectionResetException after a peer reset (R3, S8)
     * @throws WsdxProtocolException after a protocol error (a {@link java.net.ProtocolException})
     * @throws WouldBlockException non-blocking, and nothing to read now
     * @throws SocketClosedException if closed, before or during the call (S11)
     * @throws IllegalArgumentException if {@code dst} is read-only
     */
    public int read(ByteBuffer dst) throws IOException {
        return read0(dst, -1);
    }

    /**
     * {@link #read(ByteBuffer)} waiting at most {@code timeout}; {@link Duration#ZERO} polls.
     *
     * @param dst where the bytes go
     * @param timeout how long to wait
     * @return as {@link #read(ByteBuffer)}
     * @throws WsdxTimeoutException ({@link java.net.SocketTimeoutException}) if nothing arrived within a
     *     positive timeout; the connection stays usable
     * @throws WouldBlockException if polling ({@link Duration#ZERO}) finds nothing
     */
    public int read(ByteBuffer dst, Duration timeout) throws IOException {
        return read0(dst, Timeouts.millis(timeout, "read timeout"));
    }

    private int read0(ByteBuffer dst, int timeoutMs) throws IOException {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) throw new IllegalArgumentException("read-only buffer");
        if (!dst.hasRemaining()) return 0;
        boolean message = mode == Mode.MESSAGE;
        int n;
        if (!blocking || timeoutMs == 0) n = NativeIo.recv(handle, dst, timeoutMs, message);
        else if (AsyncOps.parks(handle)) n = readParking(dst, timeoutMs);
        else n = (int) waiter.call(() -> NativeIo.recv(handle, dst, timeoutMs, message), lost -> { });
        if (n == -WsaError.WSAETIMEDOUT && timeoutMs == 0) n = -WsaError.WSAEWOULDBLOCK; // a poll: one signal
        return readResult(n);
    }

    /** Whether a read returned the graceful end of input, so the peer's disconnect data is final. */
    boolean endOfInputRead() {
        return peer.isEndOfInputRead();
    }

    /** A native receive result as {@link #read(ByteBuffer)} reports it. */
    int readResult(int n) throws IOException {
        if (n > 0) return n;
        if (n == NativeIo.MESSAGE_CUT) {
            throw new MessageTooLargeException("recv: the message was larger than the buffer; its first "
                    + "bytes were stored and the rest dropped (WSAEMSGSIZE); the connection goes on");
        }
        if (n == -WsaError.WSAEMSGSIZE) { // only the fatal one reaches here (protocol.md section 2.2)
            if (connected) peer.saw(WsaError.WSAEMSGSIZE);
            throw new WsdxProtocolException(WsaError.WSAEMSGSIZE, "recv failed: the peer sent a frame over "
                    + "the limit, WSAEMSGSIZE (10040); the connection was reset");
        }
        if (n == 0) {
            if (mode == Mode.MESSAGE) return 0; // a message of length 0
            peer.endOfInputRead();
            return -1;
        }
        int seen = n == -WsaError.WSAESHUTDOWN ? peer.endOfInputAfterTaking() : -1;
        if (seen >= 0) { // we stopped reception only to take the disconnect data: the end of input repeats
            if (seen == 0 && mode == Mode.STREAM) return -1;
            throw fail(seen == 0 ? -WsaError.WSAEDISCON : -seen, "recv");
        }
        if (n == -WsaError.WSAEDISCON) peer.endOfInputRead(); // MESSAGE mode's graceful end (R2)
        throw fail(n, "recv");
    }

    /**
     * {@code WSPShutdown}: {@link #SD_RECEIVE}, {@link #SD_SEND} or {@link #SD_BOTH} (S1–S3).
     *
     * @param how what to shut down
     * @throws WsdxException {@code WSAEINVAL} for a bad {@code how}; {@link NotConnectedException} if
     *     not connected (S4)
     */
    public void shutdown(int how) throws IOException {
        int rc = WsdxNative.wsdx_shutdown(handle, how);
        if (rc < 0) throw fail(rc, "shutdown");
        if (how != SD_SEND) peer.inputShutByUser();
    }

    /**
     * {@code shutdown(SD_SEND)} (S1): the peer reads the data sent so far, then a graceful close.
     *
     * @throws IOException as {@link #shutdown(int)}
     */
    public void shutdownOutput() throws IOException {
        shutdown(SD_SEND);
    }

    /**
     * {@code shutdown(SD_RECEIVE)} (S2): later reads fail {@code WSAESHUTDOWN}.
     *
     * @throws IOException as {@link #shutdown(int)}
     */
    public void shutdownInput() throws IOException {
        shutdown(SD_RECEIVE);
    }

    /**
     * {@code WSPSendDisconnect}: sends {@code data}'s remaining bytes as disconnect data, then FIN;
     * sending is over (S5). {@code null} or empty sends an empty DISCONNECT frame, then FIN, which the
     * peer sees exactly as a FIN alone: disconnect data of length 0 (S6). {@code data}'s position is
     * not moved.
     *
     * @param data the disconnect data, or {@code null}
     * @throws ShutdownException if sending was already shut down
     * @throws IOException if the library fails the call
     * @throws IllegalArgumentException if more than {@link #MAX_DISCONNECT_DATA} bytes (nothing is sent)
     */
    public void sendDisconnect(ByteBuffer data) throws IOException {
        if (data != null && data.remaining() > MAX_DISCONNECT_DATA) {
            throw new IllegalArgumentException(
                    "disconnect data of " + data.remaining() + " bytes, over " + MAX_DISCONNECT_DATA);
        }
        int rc = NativeIo.sendDisconnect(handle, data);
        if (rc < 0) throw fail(rc, "sendDisconnect");
    }

    /**
     * {@link #sendDisconnect} if the frame can start out now (earlier writes have gone out and the
     * kernel takes bytes); false, with nothing sent, if not. The installed backend has no such call:
     * there it sends blocking.
     */
    boolean trySendDisconnect(ByteBuffer data) throws IOException {
        if (!Readiness.supported(handle)) {
            sendDisconnect(data);
            return true;
        }
        int rc = NativeIo.trySendDisconnect(handle, data);
        if (rc == -WsaError.WSAEWOULDBLOCK) return false;
        if (rc < 0) throw fail(rc, "sendDisconnect");
        return true;
    }

    /**
     * {@code WSPRecvDisconnect}: stops reception and returns the peer's disconnect data (S5) in a new
     * buffer ready to read; empty if the peer sent none or has not closed yet (S6).
     *
     * <p>As Winsock's {@code WSPRecvDisconnect}, it ends reception even when the peer has not closed
     * yet: data still unread is dropped and later reads fail {@link ShutdownException}. Call it once
     * the close event came or a read saw the end of input. After {@link #close()} it returns the data
     * the close event saw (the connection takes it before releasing the handle), and fails
     * {@link SocketClosedException} only if there was none to see.
     *
     * @return the data, possibly empty
     * @throws SocketClosedException if closed before any peer close was seen (S11)
     */
    public ByteBuffer receiveDisconnect() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(MAX_DISCONNECT_DATA);
        receiveDisconnect0(b);
        return b.flip();
    }

    /**
     * {@code WSPRecvDisconnect} into {@code dst}, advancing its position; see {@link #receiveDisconnect()}.
     *
     * @param dst where the data goes
     * @return the data's length (0 if none)
     * @throws BufferTooSmallException ({@code WSAEFAULT}) if it does not fit; nothing is consumed
     */
    public int receiveDisconnect(ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) throw new IllegalArgumentException("read-only buffer");
        return receiveDisconnect0(dst);
    }

    private int receiveDisconnect0(ByteBuffer dst) throws IOException {
        if (closing) return peer.keptInto(dst);
        int rc = NativeIo.recvDisconnect(handle, dst);
        if (rc == -WsaError.WSAENOTSOCK) return peer.keptInto(dst); // closed meanwhile
        if (rc < 0) throw fail(rc, "receiveDisconnect");
        peer.inputShutByUser();
        return rc;
    }

    /**
     * Sets the policy {@link #close()} follows (S7–S10).
     *
     * @param linger the policy
     * @throws SocketClosedException if closed (S11)
     * @throws IOException if the library fails the call
     */
    public void setLinger(Linger linger) throws IOException {
        Objects.requireNonNull(linger, "linger");
        int rc = WsdxNative.wsdx_set_linger(handle, linger.isOn() ? 1 : 0, linger.seconds());
        if (rc < 0) throw fail(rc, "setLinger");
        this.linger = linger;
    }

    /**
     * The linger policy last set.
     *
     * @return the policy; {@link Linger#dontLinger()} by default
     */
    public Linger linger() {
        return linger;
    }

    /**
     * Aborts the connection when sent data stays unacknowledged for {@code timeout} (TCP user
     * timeout); the close event then reports {@code WSAECONNABORTED} (R4). {@link Duration#ZERO}
     * restores the system default. Sub-millisecond parts round up.
     *
     * @param timeout the timeout, not negative
     * @throws IOException if the library fails the call
     * @throws IllegalArgumentException if negative
     */
    public void setAbortTimeout(Duration timeout) throws IOException {
        int ms = Timeouts.millis(timeout, "abort timeout");
        int rc = WsdxNative.wsdx_set_abort_timeout(handle, ms);
        if (rc < 0) throw fail(rc, "setAbortTimeout");
    }

    /**
     * Send timeout ({@code SO_SNDTIMEO}): a send that cannot complete within {@code timeout}, for
     * a peer that does not read, fails {@link WsdxTimeoutException}. Part of a frame may be out by
     * then, so the connection is aborted: the peer gets a reset, and later calls and the close event
     * report {@code WSAETIMEDOUT}. {@link Duration#ZERO} (the default) waits for ever. While a send
     * timeout is set, a blocking {@link #write(ByteBuffer)} waits in the library rather than by
     * parking, so it is not ended by {@link Thread#interrupt()} and pins a virtual thread's carrier.
     *
     * @param timeout how long a send may wait; {@link Duration#ZERO} for ever
     * @throws IllegalArgumentException if negative
     * @throws IOException {@code WSAEOPNOTSUPP} on the installed (Windows provider) backend for now
     */
    public void setSendTimeout(Duration timeout) throws IOException {
        int ms = Timeouts.millis(timeout, "send timeout");
        int rc = WsdxNative.wsdx_set_send_timeout(handle, ms);
        if (rc < 0) throw WsdxException.of(rc, "setSendTimeout");
        sendTimeoutMs = ms;
    }

    /**
     * Closes the connection and always releases its handle: {@code WSPCloseSocket} with the configured
     * {@linkplain #linger() linger} policy (S7–S9). The one case where Winsock's close fails and keeps
     * the socket open, a non-blocking socket with a linger timeout and data still queued (S10), closes
     * in the background instead, as {@link Linger#dontLinger()} does: queued data is still sent, then
     * FIN. Use {@link #closeSocket()} for the S10 behaviour.
     *
     * <p>The close future then completes with the peer's event if a peer close was already seen (by
     * the close callback, or by a read that returned the end of input or failed with the peer's reset),
     * else with a {@link CloseEvent.Origin#LOCAL} event; no peer event is delivered afterwards. A
     * call blocked in this connection on another thread fails {@link SocketClosedException}. A second
     * close is a no-op; made while the first is still delivering the event, it may return before the
     * close future completes (the first close completes it, on its own thread).
     *
     * @throws WsdxException if the library reported an error while closing; the handle is released all the same
     */
    @Override
    public void close() throws IOException {
        close0(false);
    }

    /**
     * {@code WSPCloseSocket} exactly as Winsock does it (S7–S10): like {@link #close()}, except that a
     * non-blocking socket with a linger timeout and data still queued fails and stays open (S10).
     *
     * @throws WouldBlockException in the S10 case: the connection stays open and usable
     * @throws WsdxException if the library reported another error; the handle is released then
     */
    public void closeSocket() throws IOException {
        close0(true);
    }

    private void close0(boolean mayStayOpen) throws IOException {
        if (!lockToClose()) return;
        CloseEvent ev;
        int rc;
        try {
            if (closed) return;
            closing = true;
            CloseEvent seen = peer.beforeClose();
            rc = WsdxNative.wsdx_close(handle);
            if (rc == -WsaError.WSAEWOULDBLOCK) {
                if (mayStayOpen) {
                    closing = false;
                    throw WsdxException.of(rc, "close");
                }
                log.debug("{}: linger close would block (S10); closing in the background instead", this);
                WsdxNative.wsdx_set_linger(handle, 0, 0);
                rc = WsdxNative.wsdx_close(handle);
            }
            // closed now, or by a racing close (WSAENOTSOCK): either way no callback follows
            closed = true;
            tracked.release();
            CloseDispatcher.unregister(handle);
            Readiness.closed(handle); // parked calls wake and find the handle gone
            async.peerClosed();
            ev = seen != null ? seen : CloseEvent.local();
        } finally {
            closeLock.unlock();
        }
        // after unlocking: a listener or dependent that waits for a thread which is itself closing
        // this connection (an interrupted read, NativeWait) must not hold that thread on the lock
        notifier.fire(ev, DIRECT);
        if (rc < 0 && rc != -WsaError.WSAENOTSOCK) throw WsdxException.of(rc, "close");
    }

    /**
     * Takes the close lock; false if this is the notifier thread (a {@link #NOTIFIER_THREAD} listener)
     * and another thread holds it: that thread's library close waits for this very callback to end, so
     * waiting here would deadlock. The close is then made on a thread of its own once the lock is free,
     * as a {@link #close()} (so if the holder was a {@link #closeSocket()} that had to stay open, S10,
     * the connection still closes).
     */
    private boolean lockToClose() {
        if (!Readiness.onNotifierThread()) {
            closeLock.lock();
            return true;
        }
        if (closeLock.tryLock()) return true;
        NativeWait.closeElsewhere(this);
        return false;
    }

    /**
     * Sets the linger policy to {@code linger} (it stays set) and closes; see {@link #close()}.
     * A no-op on a closed connection.
     *
     * @param linger the policy to close with
     * @throws IOException as {@link #close()}
     */
    public void close(Linger linger) throws IOException {
        Objects.requireNonNull(linger, "linger");
        if (closed) return;
        int rc = WsdxNative.wsdx_set_linger(handle, linger.isOn() ? 1 : 0, linger.seconds());
        if (rc < 0 && rc != -WsaError.WSAENOTSOCK) {
            IOException e = fail(rc, "close");
            close(); // the handle is released whatever the policy's fate
            throw e;
        }
        if (rc >= 0) this.linger = linger;
        close();
    }

    /**
     * Calls {@code listener} once on {@code executor} when the connection closes (R1–R5) or is closed
     * locally first; at once (on {@code executor}) if that already happened. Any number of listeners;
     * one that throws is logged and does not affect the others. For a peer's close, a listener whose
     * executor runs tasks at once on the calling thread (a direct executor) runs on a wsdx event thread
     * after the close future completed, and every other listener is handed to its executor before the
     * future completes; for a local close the same happens on the closing thread.
     * With {@link #NOTIFIER_THREAD} a peer's close runs it on the thread the kernel woke, before all
     * of that (the lowest latency; see there for what such a listener may do).
     *
     * @param listener the listener
     * @param executor where it runs
     * @return this
     */
    public Connection onClose(CloseListener listener, Executor executor) {
        waitedOn();
        notifier.add(listener, executor);
        return this;
    }

    /**
     * Completes once with the close event: the peer's FD_CLOSE (R1–R4, once, R5), or a
     * {@link CloseEvent.Origin#LOCAL} event with code 0 if closed locally first. Each call returns a
     * new dependent future; completing it has no effect on others. Peer events complete it on a wsdx
     * event thread, a local close on the closing thread.
     *
     * @return a new future of the close event
     */
    public CompletableFuture<CloseEvent> closeFuture() {
        waitedOn();
        return notifier.future();
    }

    // ------------------------------------------- event-driven API, parking waits, options, addresses

    /**
     * Opens a socket and connects it to {@code remote} within {@code timeout}; the socket is closed
     * if that fails.
     *
     * @param remote the server's address
     * @param mode stream or message; the server's must be the same
     * @param timeout how long the connect and the preamble exchange may take
     * @return the connected socket
     * @throws IOException as {@link #connect(InetSocketAddress, Duration)}
     */
    public static Connection open(InetSocketAddress remote, Mode mode, Duration timeout) throws IOException {
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(timeout, "timeout");
        Connection c = open(mode);
        try {
            return c.connect(remote, timeout);
        } catch (IOException | RuntimeException | Error e) {
            try {
                c.close(Linger.abortive());
            } catch (IOException | RuntimeException s) {
                e.addSuppressed(s);
            }
            throw e;
        }
    }

    /**
     * Sets the executor the asynchronous calls complete on (default: a small pool of daemon
     * threads shared by all connections; a connection from {@link Server#acceptAsync(Executor)}
     * uses that executor). Completions never run on the library's notifier thread: one that a direct
     * executor ({@code Runnable::run}) would run there, when a readiness event resumes the call, runs on
     * the default executor instead.
     *
     * @param executor runs completions; must not run them on the calling thread while a lock is held
     * @return this
     */
    public Connection executor(Executor executor) {
        async.executor(executor);
        return this;
    }

    /**
     * The executor the asynchronous calls complete on.
     *
     * @return the executor
     */
    public Executor executor() {
        return async.executor();
    }

    /**
     * Reads into {@code dst} once data (or the end, or an error) is there, without a thread waiting:
     * the library's readiness event resumes the read on the {@linkplain #executor() executor}.
     * Completes as {@link #read(ByteBuffer)} returns (-1 at a stream's end) or throws.
     *
     * @param dst where the bytes go; its position advances
     * @return a future of the count
     * @throws java.nio.channels.ReadPendingException if a read is still pending
     */
    public CompletableFuture<Integer> readAsync(ByteBuffer dst) {
        return async.read(dst);
    }

    /**
     * Writes all of {@code src} (a message in {@link Mode#MESSAGE} mode) without a thread waiting.
     * Backpressure: the future completes only once the library has taken every byte; until then
     * no other write may start.
     *
     * @param src the bytes; its position advances as they are taken
     * @return a future of the count written
     * @throws java.nio.channels.WritePendingException if a write is still pending
     */
    public CompletableFuture<Integer> writeAsync(ByteBuffer src) {
        return async.write(src);
    }

    /**
     * {@link #sendDisconnect(ByteBuffer)} once earlier writes have gone out (S5, S6).
     *
     * @param data disconnect data, at most {@link #MAX_DISCONNECT_DATA} bytes, or null
     * @return a future completed once it is sent
     * @throws java.nio.channels.WritePendingException if a write is still pending
     */
    public CompletableFuture<Void> sendDisconnectAsync(ByteBuffer data) {
        return async.sendDisconnect(data);
    }

    /**
     * {@link #receiveDisconnect()} once the peer's close event has arrived or a read has returned the
     * graceful end of input (at once if either has happened), so the peer's disconnect data is there
     * if it sent any. Like {@code WSPRecvDisconnect}, it
     * ends reception.
     *
     * @return a future of the peer's disconnect data
     */
    public CompletableFuture<ByteBuffer> receiveDisconnectAsync() {
        waitedOn(); // it may wait for the peer's close event: nothing else holds this connection then
        return async.receiveDisconnect();
    }

    /**
     * Sets a socket option of a connected socket: {@link java.net.StandardSocketOptions#TCP_NODELAY}
     * (on by default), {@code SO_KEEPALIVE}, {@code SO_RCVBUF}, {@code SO_SNDBUF}.
     *
     * @param name the option
     * @param value its value
     * @param <T> the option's type
     * @return this
     * @throws UnsupportedOperationException for another option
     * @throws NotConnectedException if not connected
     */
    public <T> Connection setOption(SocketOption<T> name, T value) throws IOException {
        SocketOptions.set(handle, name, value);
        return this;
    }

    /**
     * A socket option's value as the system reports it.
     *
     * @param name the option
     * @param <T> the option's type
     * @return its value
     * @throws UnsupportedOperationException for an option not in {@link #supportedOptions()}
     * @throws IOException if the library reports an error (for example the socket is closed)
     */
    public <T> T getOption(SocketOption<T> name) throws IOException {
        return SocketOptions.get(handle, name);
    }

    /**
     * The options {@link #setOption} takes.
     *
     * @return the supported options
     */
    public Set<SocketOption<?>> supportedOptions() {
        return SocketOptions.SUPPORTED;
    }

    /**
     * The local address of the connected socket.
     *
     * @return the address and port
     * @throws NotConnectedException if not connected
     */
    public InetSocketAddress localAddress() throws IOException {
        return SocketOptions.address(handle, false);
    }

    /**
     * The peer's address.
     *
     * @return the address and port
     * @throws NotConnectedException if not connected
     */
    public InetSocketAddress remoteAddress() throws IOException {
        return SocketOptions.address(handle, true);
    }

    /** A virtual thread's blocking receive: parks until FD_READ instead of pinning its carrier in native code. */
    private int readParking(ByteBuffer dst, int timeoutMs) throws IOException {
        long deadline = AsyncOps.deadline(timeoutMs);
        int n;
        while (AsyncOps.nothingYet(n = NativeIo.recv(handle, dst, 0, mode == Mode.MESSAGE))) {
            AsyncOps.park(handle, WsdxNative.FD_READ, deadline, this, "recv");
        }
        return n;
    }

    /** A blocking send that parks until FD_WRITE instead of waiting in native code. */
    private int writeParking(ByteBuffer src) throws IOException {
        int n;
        while ((n = NativeIo.trySend(handle, src, mode == Mode.MESSAGE)) == -WsaError.WSAEWOULDBLOCK) {
            AsyncOps.park(handle, WsdxNative.FD_WRITE, 0, this, "send");
        }
        return n;
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
