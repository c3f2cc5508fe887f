package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.wsdx.internal.Readiness;
import dev.wsdx.internal.WsdxNative;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Issue 10.1: the event-driven calls. The disconnect receive never misses the peer's close event;
 * calls chained in a completion run there, within a bounded stack.
 */
class AsyncOpsTest {

    /**
     * The close callback drains the queued disconnect receives at once, but the close event itself is
     * made later on an event thread. A receive queued in between must not wait for a drain that already
     * happened (the stall of 10,000 seed sessions, issue 10): here the event threads are held so that
     * "in between" lasts until the receive was queued.
     */
    @Test
    void receiveDisconnectAsyncQueuedAfterTheCloseCallbackButBeforeTheEventCompletes() throws Exception {
        CountDownLatch hold = new CountDownLatch(1);
        CountDownLatch held = new CountDownLatch(CloseNotifier.EVENT_THREAD_LIMIT);
        for (int i = 0; i < CloseNotifier.EVENT_THREAD_LIMIT; i++) { // every event thread busy
            CloseNotifier.EVENT_THREADS.execute(holding(held, hold));
        }
        try (Server server = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM)) {
            assertTrue(held.await(10, TimeUnit.SECONDS), "event threads held");
            CompletableFuture<Connection> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    return server.accept();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            try (Connection client = Connection.open(new InetSocketAddress("127.0.0.1", server.localPort()), Mode.STREAM);
                 Connection srv = accepted.get(10, TimeUnit.SECONDS)) {
                sendSummary(client); // no read of the end: only the close callback's flag can release the receive
                CloseNotifier n = notifier(srv);
                for (int i = 0; i < 1000 && !n.isClaimed(); i++) Thread.sleep(10); // the close callback ran
                assertTrue(n.isClaimed(), "close callback");
                assertEquals(null, n.event(), "the event is not made yet (its thread is held)");
                assertSummaryArrives(srv);
            }
        } finally {
            hold.countDown();
        }
    }

    /**
     * An executor that refuses the work fails the operation with its exception, and the operation is no
     * longer pending: the next read and write on a working executor go ahead.
     */
    @Test
    void aRefusingExecutorFailsTheOperationAndFreesIt() throws Exception {
        try (LoopbackPair p = LoopbackPair.open("127.0.0.1", Mode.STREAM)) {
            Connection client = p.client;
            RejectedExecutionException no = new RejectedExecutionException("refused (expected by the test)");
            client.executor(r -> {
                throw no;
            });
            ExecutionException r = assertThrows(ExecutionException.class,
                    () -> client.readAsync(ByteBuffer.allocate(4)).get(10, TimeUnit.SECONDS));
            assertSame(no, r.getCause());
            ExecutionException w = assertThrows(ExecutionException.class,
                    () -> client.writeAsync(ByteBuffer.wrap(new byte[] {1})).get(10, TimeUnit.SECONDS));
            assertSame(no, w.getCause());
            client.executor(Runnable::run);
            assertEquals(2, client.writeAsync(ByteBuffer.wrap(new byte[] {1, 2})).get(10, TimeUnit.SECONDS));
            CompletableFuture<Integer> read = client.readAsync(ByteBuffer.allocate(4));
            p.accepted.write(ByteBuffer.wrap(new byte[] {3, 4, 5}));
            assertEquals(3, read.get(10, TimeUnit.SECONDS));
        }
    }

    /**
     * A direct executor never runs a completion on the library's notifier thread: a completion there
     * would hold up every socket's events, and one that closes its connection while another thread
     * closes it too deadlocked (the closing thread waited in the library for the notifier's callback,
     * which waited for the closing thread's lock). Read, disconnect receive and accept all
     * resume from readiness or close events here.
     */
    @Test
    void directExecutorCompletionsNeverRunOnTheNotifier() throws Exception {
        try (Server server = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM)) {
            CompletableFuture<Boolean> acceptedOnNotifier = new CompletableFuture<>();
            CompletableFuture<Connection> accepted = server.acceptAsync(Runnable::run);
            accepted.thenRun(() -> acceptedOnNotifier.complete(onNotifier()));
            try (Connection client = Connection.open(new InetSocketAddress("127.0.0.1", server.localPort()), Mode.STREAM);
                 Connection srv = accepted.get(10, TimeUnit.SECONDS)) {
                assertEquals(false, acceptedOnNotifier.get(10, TimeUnit.SECONDS));
                client.executor(Runnable::run);
                CompletableFuture<Boolean> readOnNotifier = client.readAsync(ByteBuffer.allocate(4))
                        .thenApply(n -> onNotifier());
                CompletableFuture<Boolean> dataOnNotifier = client.receiveDisconnectAsync()
                        .thenApply(d -> onNotifier());
                Thread.sleep(50); // both wait for events
                srv.write(ByteBuffer.wrap(new byte[] {1}));
                assertEquals(false, readOnNotifier.get(10, TimeUnit.SECONDS));
                srv.sendDisconnect(ByteBuffer.wrap(new byte[] {2}));
                assertEquals(false, dataOnNotifier.get(10, TimeUnit.SECONDS));
            }
        }
    }

    /**
     * S5 through the event-driven API: disconnect data of exactly the 4,096-byte limit goes out, one
     * byte more is refused at once; the send is then no longer pending, so a later write fails with the
     * shutdown (in its future) instead of {@link java.nio.channels.WritePendingException}.
     */
    @Test
    void sendDisconnectAsyncTakesTheLimitAndEndsPending() throws Exception {
        try (LoopbackPair p = LoopbackPair.open("127.0.0.1", Mode.STREAM)) {
            assertThrows(IllegalArgumentException.class,
                    () -> p.client.sendDisconnectAsync(ByteBuffer.allocate(Connection.MAX_DISCONNECT_DATA + 1)));
            ByteBuffer data = ByteBuffer.allocate(Connection.MAX_DISCONNECT_DATA);
            data.put(0, (byte) 1).put(Connection.MAX_DISCONNECT_DATA - 1, (byte) 2);
            p.client.sendDisconnectAsync(data).get(10, TimeUnit.SECONDS);
            ExecutionException late = assertThrows(ExecutionException.class,
                    () -> p.client.writeAsync(ByteBuffer.wrap(new byte[] {9})).get(10, TimeUnit.SECONDS));
            assertTrue(late.getCause() instanceof java.io.IOException, late.getCause().toString());
            ByteBuffer got = p.accepted.receiveDisconnectAsync().get(10, TimeUnit.SECONDS);
            assertEquals(Connection.MAX_DISCONNECT_DATA, got.remaining());
            assertEquals(1, got.get(0));
            assertEquals(2, got.get(Connection.MAX_DISCONNECT_DATA - 1));
        }
    }

    /**
     * S5 under backpressure: while the peer takes nothing, the disconnect waits without holding a
     * thread (the connection's one executor thread runs other work meanwhile) and sends nothing; once
     * the peer reads, the frame and the end follow every byte written before.
     */
    @Test
    void S5_sendDisconnectAsyncWaitsForEarlierWritesWithoutAThread() throws Exception {
        ExecutorService one = Executors.newSingleThreadExecutor(r -> new Thread(r, "one"));
        try (LoopbackPair p = LoopbackPair.open("127.0.0.1", Mode.STREAM)) {
            p.client.executor(one).configureBlocking(false);
            long sent = 0;
            for (long more = 1; more > 0; sent += more) more = fill(p.client); // until a pause frees nothing more
            CompletableFuture<Void> disc = p.client.sendDisconnectAsync(ByteBuffer.wrap(new byte[] {5}));
            assertEquals("free", CompletableFuture.supplyAsync(() -> "free", one).get(10, TimeUnit.SECONDS));
            Thread.sleep(50);
            assertTrue(!disc.isDone(), "sent while the peer took nothing");
            long got = 0;
            ByteBuffer sink = ByteBuffer.allocate(65536);
            for (int n; (n = p.accepted.read(sink.clear(), Duration.ofSeconds(10))) >= 0; ) got += n;
            assertEquals(sent, got, "every byte before the end");
            disc.get(10, TimeUnit.SECONDS);
            assertEquals(5, p.accepted.receiveDisconnectAsync().get(10, TimeUnit.SECONDS).get(0));
        } finally {
            one.shutdownNow();
        }
    }

    /** MESSAGE mode: an empty message is a message, through writeAsync as through write. */
    @Test
    void writeAsyncSendsAnEmptyMessage() throws Exception {
        try (LoopbackPair p = LoopbackPair.open("127.0.0.1", Mode.MESSAGE)) {
            assertEquals(0, p.client.writeAsync(ByteBuffer.allocate(0)).get(10, TimeUnit.SECONDS));
            assertEquals(3, p.client.writeAsync(ByteBuffer.wrap(new byte[] {1, 2, 3})).get(10, TimeUnit.SECONDS));
            assertEquals(0, p.accepted.readAsync(ByteBuffer.allocate(8)).get(10, TimeUnit.SECONDS));
            assertEquals(3, p.accepted.readAsync(ByteBuffer.allocate(8)).get(10, TimeUnit.SECONDS));
        }
    }

    /**
     * A read that found the end of input (R1, R2) makes the disconnect data final: the receive completes
     * without waiting for the close callback. Here the notifier thread is held by another socket's
     * readiness task, so that callback cannot run until the test lets it.
     */
    @Test
    void S5_receiveDisconnectAsyncAfterTheEndWasReadNeedsNoCloseEvent() throws Exception {
        for (Mode mode : Mode.values()) {
            try (LoopbackPair p = LoopbackPair.open("127.0.0.1", mode);
                 LoopbackPair other = LoopbackPair.open("127.0.0.1", Mode.STREAM)) {
                CountDownLatch hold = new CountDownLatch(1);
                CountDownLatch held = new CountDownLatch(1);
                assertEquals(0, Readiness.await(other.client.handle(), WsdxNative.FD_WRITE, holding(held, hold)));
                try {
                    assertTrue(held.await(10, TimeUnit.SECONDS), "notifier held");
                    sendSummary(p.client);
                    readEndPolling(p.accepted); // R1 (-1) or R2 (DisconnectedException)
                    assertSummaryArrives(p.accepted);
                } finally {
                    hold.countDown();
                }
            }
        }
    }

    /**
     * A read without room completes with 0, as {@link Connection#read} returns, and is not taken for
     * the end of input: the stream goes on.
     */
    @Test
    void readAsyncWithoutRoomCompletesWithZeroAndTheStreamGoesOn() throws Exception {
        try (LoopbackPair p = LoopbackPair.open("127.0.0.1", Mode.STREAM)) {
            assertEquals(0, p.accepted.readAsync(ByteBuffer.allocate(0)).get(10, TimeUnit.SECONDS));
            p.client.write(ByteBuffer.wrap(new byte[] {7}));
            ByteBuffer one = ByteBuffer.allocate(1);
            assertEquals(1, p.accepted.readAsync(one).get(10, TimeUnit.SECONDS));
            assertEquals(7, one.get(0));
            CompletableFuture<ByteBuffer> data = p.accepted.receiveDisconnectAsync();
            Thread.sleep(50);
            assertTrue(!data.isDone(), "no peer close was seen");
            p.client.sendDisconnect(ByteBuffer.wrap(new byte[] {8}));
            assertEquals(8, data.get(10, TimeUnit.SECONDS).get(0));
        }
    }

    /**
     * A read started inside a completion runs there at once, not through another executor task, and
     * still completes on the executor's thread; a chain that never waits (every byte already queued)
     * hands off every {@code MAX_INLINE} calls, so its stack stays bounded. 20,000 one-byte reads
     * overflow the stack without that bound, and take 20,000 tasks without running inline.
     */
    @Test
    void readsChainedInACompletionRunInlineWithABoundedStack() throws Exception {
        int n = 20_000;
        ExecutorService one = Executors.newSingleThreadExecutor(r -> new Thread(r, "chain"));
        AtomicInteger tasks = new AtomicInteger();
        Executor counting = r -> {
            tasks.incrementAndGet();
            one.execute(r);
        };
        try (LoopbackPair p = LoopbackPair.open("127.0.0.1", Mode.STREAM)) {
            p.client.write(ByteBuffer.allocate(n));
            p.client.sendDisconnect(null);
            Thread.sleep(100); // loopback: all of it waits in the kernel, so no read below has to wait
            p.accepted.executor(counting);
            AtomicInteger offThread = new AtomicInteger();
            // started on the executor, so that no completion can beat the test thread's thenCompose
            int got = CompletableFuture.supplyAsync(() -> readOneByOne(p.accepted, ByteBuffer.allocate(1), 0, offThread), one)
                    .thenCompose(f -> f).get(30, TimeUnit.SECONDS);
            assertEquals(n, got);
            assertEquals(0, offThread.get(), "completions off the executor's thread");
            assertTrue(tasks.get() < n / 4, tasks.get() + " executor tasks for " + n + " reads");
        } finally {
            one.shutdownNow();
        }
    }

    private static CompletableFuture<Integer> readOneByOne(Connection c, ByteBuffer b, int sofar, AtomicInteger off) {
        return c.readAsync(b.clear()).thenCompose(k -> {
            if (!Thread.currentThread().getName().equals("chain")) off.incrementAndGet();
            return k < 0 ? CompletableFuture.completedFuture(sofar) : readOneByOne(c, b, sofar + k, off);
        });
    }

    /**
     * Writes (non-blocking) until nothing more is taken, after a 100 ms pause for acknowledgements
     * that would make room; the bytes written.
     */
    private static long fill(Connection c) throws Exception {
        Thread.sleep(100);
        long sent = 0;
        ByteBuffer chunk = ByteBuffer.allocateDirect(65536);
        try {
            while (true) sent += c.write(chunk.clear());
        } catch (WouldBlockException full) {
            return sent;
        }
    }

    /** A task that counts {@code held} down, then keeps its thread until {@code hold} opens. */
    private static Runnable holding(CountDownLatch held, CountDownLatch hold) {
        return () -> {
            held.countDown();
            try {
                hold.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    /** Sends the disconnect data the receiving side checks for: 42 as a long. */
    private static void sendSummary(Connection c) throws Exception {
        c.sendDisconnect(ByteBuffer.allocate(8).putLong(0, 42));
    }

    /** The event-driven disconnect receive gives {@link #sendSummary}'s data. */
    private static void assertSummaryArrives(Connection c) throws Exception {
        assertEquals(42, c.receiveDisconnectAsync().get(10, TimeUnit.SECONDS).getLong(0));
    }

    /** Reads until the graceful end (R1: -1, R2: {@link DisconnectedException}) without parking: polls. */
    private static void readEndPolling(Connection c) throws Exception {
        for (int i = 0; i < 1000; i++) {
            try {
                if (c.read(ByteBuffer.allocate(1), Duration.ZERO) < 0) return;
                throw new AssertionError("data before the end");
            } catch (WouldBlockException e) {
                Thread.sleep(10);
            } catch (DisconnectedException end) {
                return;
            }
        }
        throw new AssertionError("no end in 10 s");
    }

    /** Whether this is the library's notifier thread, by the name its callbacks attach it with. */
    private static boolean onNotifier() {
        return Thread.currentThread().getName().equals("wsdx-notifier");
    }

    private static CloseNotifier notifier(Connection c) throws ReflectiveOperationException {
        Field f = Connection.class.getDeclaredField("notifier");
        f.setAccessible(true);
        return (CloseNotifier) f.get(c);
    }
}
