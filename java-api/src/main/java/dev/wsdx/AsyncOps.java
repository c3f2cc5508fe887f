package dev.wsdx;

import dev.wsdx.internal.NativeIo;
import dev.wsdx.internal.Readiness;
import dev.wsdx.internal.WsdxNative;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ReadPendingException;
import java.nio.channels.WritePendingException;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The event-driven side of a {@link Connection}: completions on the connection's executor, driven
 * by the library's readiness events ({@code wsdx_select}), and the parking wait of blocking calls.
 * At most one read and one write (or disconnect send) pending at a time, as in NIO.2.
 */
final class AsyncOps {
    /** Completions run here unless the caller chose an executor: a few daemon threads. */
    static final Executor DEFAULT_EXECUTOR = defaultExecutor();

    /**
     * Calls run inline per completion task, at most: bounds the stack of a chain whose every call
     * completes at once (NIO.2's {@code maxHandlerInvokeCount} is 16 too). A direct executor runs
     * every task on the calling stack anyway, so there the chain's own depth is the bound.
     */
    private static final int MAX_INLINE = 16;
    /** The executor whose completion task this thread runs (null: none), and the calls run inline in it. */
    private static final ThreadLocal<Inline> INLINE = ThreadLocal.withInitial(Inline::new);

    private final Connection owner;
    private final long handle;
    private final boolean message;
    private final AtomicBoolean reading = new AtomicBoolean();
    private final AtomicBoolean writing = new AtomicBoolean();
    private final Queue<Consumer<Boolean>> afterPeerClose = new ConcurrentLinkedQueue<>();
    /** Set before {@link #afterPeerClose} is drained: a receive queued later drains it itself. */
    private volatile boolean peerGone;
    private volatile Executor executor = DEFAULT_EXECUTOR;

    AsyncOps(Connection owner, long handle, boolean message) {
        this.owner = owner;
        this.handle = handle;
        this.message = message;
    }

    void executor(Executor executor) {
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    Executor executor() {
        return executor;
    }

    CompletableFuture<Integer> read(ByteBuffer dst) {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) throw new IllegalArgumentException("read-only buffer");
        if (!reading.compareAndSet(false, true)) throw new ReadPendingException();
        CompletableFuture<Integer> f = new CompletableFuture<>();
        Executor ex = executor;
        start(ex, () -> tryRead(dst, f, ex), f, reading);
        return f;
    }

    private void tryRead(ByteBuffer dst, CompletableFuture<Integer> f, Executor ex) {
        if (!dst.hasRemaining()) { // as read(): 0 at once, which readResult would take for a stream's end
            reading.set(false);
            f.complete(0);
            return;
        }
        int n = NativeIo.recv(handle, dst, 0, message);
        if (nothingYet(n)) {
            when(handle, WsdxNative.FD_READ, ex, () -> tryRead(dst, f, ex), f, reading, "recv");
            return;
        }
        reading.set(false); // before completing: a dependent may read again
        try {
            f.complete(owner.readResult(n));
        } catch (IOException e) {
            f.completeExceptionally(e);
        }
    }

    CompletableFuture<Integer> write(ByteBuffer src) {
        Objects.requireNonNull(src, "src");
        if (!writing.compareAndSet(false, true)) throw new WritePendingException();
        CompletableFuture<Integer> f = new CompletableFuture<>();
        Executor ex = executor;
        start(ex, () -> tryWrite(src, 0, f, ex), f, writing);
        return f;
    }

    /** Sends until every byte was taken (a message: at once); completes with the count. */
    private void tryWrite(ByteBuffer src, int done, CompletableFuture<Integer> f, Executor ex) {
        int total = done;
        while (src.hasRemaining() || (message && total == 0 && !f.isDone())) {
            int n = NativeIo.trySend(handle, src, message);
            if (n == -WsaError.WSAEWOULDBLOCK || (n == 0 && !message)) {
                int sofar = total;
                when(handle, WsdxNative.FD_WRITE, ex, () -> tryWrite(src, sofar, f, ex), f, writing, "send");
                return;
            }
            if (n < 0) {
                writing.set(false);
                f.completeExceptionally(WsdxException.of(n, "send"));
                return;
            }
            total += n;
            if (message) break;
        }
        writing.set(false);
        f.complete(total);
    }

    CompletableFuture<Void> sendDisconnect(ByteBuffer data) {
        if (data != null && data.remaining() > Connection.MAX_DISCONNECT_DATA) {
            throw new IllegalArgumentException(
                    "disconnect data of " + data.remaining() + " bytes, over " + Connection.MAX_DISCONNECT_DATA);
        }
        if (!writing.compareAndSet(false, true)) throw new WritePendingException();
        CompletableFuture<Void> f = new CompletableFuture<>();
        Executor ex = executor;
        start(ex, () -> trySendDisconnect(data, f, ex), f, writing);
        return f;
    }

    /** Sends now if the frame can start out; else again once FD_WRITE says earlier writes went out. */
    private void trySendDisconnect(ByteBuffer data, CompletableFuture<Void> f, Executor ex) {
        boolean sent;
        try {
            sent = owner.trySendDisconnect(data);
        } catch (IOException e) {
            fail(f, writing, e);
            return;
        }
        if (!sent) {
            when(handle, WsdxNative.FD_WRITE, ex, () -> trySendDisconnect(data, f, ex), f, writing, "sendDisconnect");
            return;
        }
        writing.set(false);
        f.complete(null);
    }

    CompletableFuture<ByteBuffer> receiveDisconnect() {
        CompletableFuture<ByteBuffer> f = new CompletableFuture<>();
        Executor ex = executor;
        Runnable take = () -> {
            try {
                f.complete(owner.receiveDisconnect());
            } catch (IOException e) {
                f.completeExceptionally(e);
            }
        };
        afterPeerClose.add(mayInline -> {
            if (mayInline) start(ex, take, f, null);
            else run(ex, take, f, null);
        });
        // the flag, not the close event: the event is made later on an event thread, and a receive
        // queued between the close callback's drain and that would wait for ever. A read that saw the
        // end of input makes the data final too (the DISCONNECT frame precedes the end), so no wait.
        if (peerGone || !owner.isOpen() || owner.endOfInputRead()) drainAfterPeerClose(true);
        return f;
    }

    /**
     * The peer's close event arrived, or the connection was closed: pending disconnect receives go on,
     * on their executors (the caller may hold the connection's close lock: no completion runs here).
     */
    void peerClosed() {
        peerGone = true;
        drainAfterPeerClose(false);
    }

    /** Runs the waiting disconnect receives; {@code mayInline}: the application's own call, holding no lock of ours. */
    private void drainAfterPeerClose(boolean mayInline) {
        for (Consumer<Boolean> r; (r = afterPeerClose.poll()) != null; ) r.accept(mayInline);
    }

    // ------------------------------------------------------------------ shared

    static boolean nothingYet(int n) {
        return n == -WsaError.WSAEWOULDBLOCK || n == -WsaError.WSAETIMEDOUT;
    }

    /** Runs {@code task} on {@code ex} once {@code event} is due on {@code handle}. */
    static void when(long handle, int event, Executor ex, Runnable task, CompletableFuture<?> f,
                     AtomicBoolean pending, String op) {
        int rc = Readiness.await(handle, event, () -> run(ex, task, f, pending));
        if (rc < 0) fail(f, pending, WsdxException.of(rc, op));
    }

    /**
     * Runs {@code task} on this thread if it is running one of {@code ex}'s completions (so the
     * promise "completes on the executor" holds) and has run fewer than {@link #MAX_INLINE} calls
     * there; else on {@code ex} ({@link #run}). Saves a hand-off per call chained in a completion,
     * as NIO.2 does for a handler that starts the next read on a pool thread.
     */
    static void start(Executor ex, Runnable task, CompletableFuture<?> f, AtomicBoolean pending) {
        Inline here = INLINE.get();
        if (here.executor != ex || here.count >= MAX_INLINE) {
            run(ex, task, f, pending);
            return;
        }
        here.count++;
        try {
            task.run();
        } catch (Throwable t) {
            fail(f, pending, t);
        }
    }

    /**
     * Runs {@code task} on {@code ex}; a refusal or an unexpected throwable fails {@code f}. Never on the
     * notifier thread: an executor that runs it there (a direct executor, called from a readiness event)
     * has it run on {@link #DEFAULT_EXECUTOR} instead.
     */
    static void run(Executor ex, Runnable task, CompletableFuture<?> f, AtomicBoolean pending) {
        Runnable guarded = () -> {
            if (Readiness.onNotifierThread()) { // a completion may block or close: never here
                DEFAULT_EXECUTOR.execute(() -> run(Runnable::run, task, f, pending));
                return;
            }
            Inline here = INLINE.get();
            Executor outerEx = here.executor;
            int outerCount = here.count;
            here.executor = ex;
            here.count = 0;
            try {
                task.run();
            } catch (Throwable t) {
                fail(f, pending, t);
            } finally {
                here.executor = outerEx;
                here.count = outerCount;
            }
        };
        try {
            ex.execute(guarded);
        } catch (Throwable t) {
            fail(f, pending, t);
        }
    }

    private static void fail(CompletableFuture<?> f, AtomicBoolean pending, Throwable t) {
        if (pending != null) pending.set(false);
        f.completeExceptionally(t);
    }

    /**
     * A blocking call's wait: parks (a virtual thread frees its carrier) until {@code event} is due.
     * An interrupt closes {@code closer} and throws {@link ClosedByInterruptException}, as an
     * {@link java.nio.channels.InterruptibleChannel} does; the interrupt status stays set.
     *
     * @param deadline {@link System#nanoTime()} deadline, 0 for none
     */
    static void park(long handle, int event, long deadline, AutoCloseable closer, String op) throws IOException {
        int r = Readiness.park(handle, event, deadline);
        if (r == Readiness.READY) return;
        if (r == Readiness.TIMED_OUT) throw WsdxException.of(-WsaError.WSAETIMEDOUT, op);
        if (r != Readiness.INTERRUPTED) throw WsdxException.of(r, op);
        ClosedByInterruptException e = new ClosedByInterruptException();
        try {
            closer.close();
        } catch (Exception s) {
            e.addSuppressed(s);
        }
        throw e;
    }

    /**
     * Whether a blocking call on this thread parks on the handle's readiness event: a virtual thread
     * (native waiting would pin its carrier) on a handle that has such events. Else it waits in the
     * library, interruptibly ({@code NativeWait}).
     */
    static boolean parks(long handle) {
        return ConnectOps.onVirtualThread() && Readiness.supported(handle);
    }

    /** The deadline for a timeout in ms ({@code < 0}: none, 0). */
    static long deadline(int timeoutMs) {
        return timeoutMs < 0 ? 0 : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs) | 1;
    }

    /** Per thread: see {@link #INLINE}. */
    private static final class Inline {
        Executor executor;
        int count;
    }

    private static Executor defaultExecutor() {
        int n = Math.max(2, Math.min(4, Runtime.getRuntime().availableProcessors()));
        AtomicInteger id = new AtomicInteger();
        ThreadPoolExecutor ex = new ThreadPoolExecutor(n, n, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "wsdx-io-" + id.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        ex.allowCoreThreadTimeOut(true);
        return ex;
    }
}
