package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Issue 10.1: the event-driven disconnect receive never misses the peer's close event. */
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
            CloseNotifier.EVENT_THREADS.execute(() -> {
                held.countDown();
                try {
                    hold.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
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
                client.sendDisconnect(ByteBuffer.allocate(8).putLong(0, 42));
                assertEquals(-1, srv.read(ByteBuffer.allocate(8)), "the DISCONNECT ends the input");
                CloseNotifier n = notifier(srv);
                for (int i = 0; i < 1000 && !n.isClaimed(); i++) Thread.sleep(10); // the close callback ran
                assertTrue(n.isClaimed(), "close callback");
                assertEquals(null, n.event(), "the event is not made yet (its thread is held)");
                ByteBuffer d = srv.receiveDisconnectAsync().get(10, TimeUnit.SECONDS);
                assertEquals(42, d.getLong(0));
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
