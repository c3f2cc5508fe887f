package dev.wsdx.it;

import static dev.wsdx.it.It.ANY_PORT;
import static dev.wsdx.it.It.HOST;
import static dev.wsdx.it.It.WAIT;
import static dev.wsdx.it.It.WAIT_S;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.BufferTooSmallException;
import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.Linger;
import dev.wsdx.MessageTooLargeException;
import dev.wsdx.Mode;
import dev.wsdx.NotConnectedException;
import dev.wsdx.Server;
import dev.wsdx.ShutdownException;
import dev.wsdx.SocketClosedException;
import dev.wsdx.WsaError;
import dev.wsdx.WsdxException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * API misuse (issue 5): every public method of Connection / Server fed null, empty, negative,
 * oversized and wrong-state inputs, concurrent races on one connection, and listeners that throw
 * or block. Programming errors must be IllegalArgumentException / NullPointerException, WSA errors
 * WsdxException subclasses with the right code; no crash; no close event lost for other connections.
 */
class ApiMisuseTest {

    private static final InetSocketAddress NOWHERE = new InetSocketAddress(HOST, 1);

    /** A programming error: NPE or IAE, nothing else. */
    private static void assertProgrammingError(Executable call, String what) {
        Throwable t = assertThrows(Throwable.class, call, what);
        assertTrue(t instanceof NullPointerException || t instanceof IllegalArgumentException,
                what + ": expected NullPointerException or IllegalArgumentException, got " + t);
    }

    private static <E extends Throwable & dev.wsdx.WsaCoded> void assertWsa(Class<E> type, int code, Executable call, String what) {
        It.assertWsaThrows(type, code, call, what);
    }

    // ------------------------------------------------------------------ null

    @Test
    void nullArgumentsAreProgrammingErrors() throws Exception {
        assertProgrammingError(() -> Connection.open((Mode) null), "open(null)");
        assertProgrammingError(() -> Connection.open(null, Mode.STREAM), "open(null, mode)");
        assertProgrammingError(() -> Connection.open(NOWHERE, null), "open(remote, null)");
        assertProgrammingError(() -> Server.bind(null, Mode.STREAM), "bind(null, mode)");
        assertProgrammingError(() -> Server.bind(ANY_PORT, null), "bind(local, null)");
        assertProgrammingError(() -> Server.bind(null, Mode.STREAM, 5), "bind(null, mode, backlog)");
        assertProgrammingError(() -> Linger.timeout(null), "Linger.timeout(null)");
        assertProgrammingError(() -> CloseEvent.of(null, 0, false), "CloseEvent.of(null, ...)");
        try (It.Pair p = It.pair(Mode.STREAM); Connection fresh = Connection.open(Mode.STREAM)) {
            Connection c = p.client;
            assertProgrammingError(() -> fresh.connect(null), "connect(null)");
            assertProgrammingError(() -> fresh.connect(null, WAIT), "connect(null, timeout)");
            assertProgrammingError(() -> fresh.connect(It.addr(p.server), null), "connect(remote, null)");
            assertProgrammingError(() -> c.write(null), "write(null)");
            assertProgrammingError(() -> c.read(null), "read(null)");
            assertProgrammingError(() -> c.read(null, WAIT), "read(null, timeout)");
            assertProgrammingError(() -> c.read(ByteBuffer.allocate(4), null), "read(dst, null)");
            assertProgrammingError(() -> c.receiveDisconnect(null), "receiveDisconnect(null)");
            assertProgrammingError(() -> c.setLinger(null), "setLinger(null)");
            assertProgrammingError(() -> c.close(null), "close(null)");
            assertProgrammingError(() -> c.setAbortTimeout(null), "setAbortTimeout(null)");
            assertProgrammingError(() -> c.onClose(null, Runnable::run), "onClose(null, executor)");
            assertProgrammingError(() -> c.onClose((x, e) -> { }, null), "onClose(listener, null)");
            assertProgrammingError(() -> p.server.accept(null), "accept(null)");
            // none of that changed anything: the pair still works, nothing was closed
            assertTrue(c.isOpen() && c.isConnected() && fresh.isOpen() && !fresh.isConnected());
            It.writeAll(c, It.buf("still fine"));
            assertArrayEquals(It.bytes("still fine"), It.readN(p.accepted, 10));
            assertFalse(p.accepted.closeFuture().isDone());
            // null disconnect data is allowed: S6
            c.sendDisconnect(null);
            CloseEvent ev = It.awaitClose(p.accepted, "peer");
            assertTrue(ev.isGraceful() && !ev.hasDisconnectData(), ev.toString()); // empty frame = FIN alone
        }
    }

    // ------------------------------------------------------------------ empty

    @Test
    void emptyBuffersAreHarmless() throws Exception {
        try (It.Pair s = It.pair(Mode.STREAM); It.Pair m = It.pair(Mode.MESSAGE)) {
            assertEquals(0, s.client.write(ByteBuffer.allocate(0)), "empty stream write");
            assertEquals(0, s.client.read(ByteBuffer.allocate(0)), "read into a full buffer returns 0 at once");
            assertEquals(0, s.client.read(ByteBuffer.allocate(0), Duration.ZERO));
            // the empty read buffer did not consume the next bytes
            It.writeAll(s.client, It.buf("abc"));
            assertArrayEquals(It.bytes("abc"), It.readN(s.accepted, 3));
            // (WSPRecvDisconnect stops reception, so it comes last)
            assertEquals(0, s.accepted.receiveDisconnect(ByteBuffer.allocate(0)), "no disconnect data yet");
            It.assertWsaThrows(ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> s.accepted.read(ByteBuffer.allocate(4), WAIT), "read after receiveDisconnect");

            // MESSAGE: an empty write is an empty message, delivered as such, in order
            assertEquals(0, m.client.write(ByteBuffer.allocate(0)));
            It.writeAll(m.client, It.buf("after"));
            ByteBuffer b = ByteBuffer.allocate(16);
            assertEquals(0, m.accepted.read(b, WAIT), "the empty message");
            assertEquals(5, m.accepted.read(b, WAIT), "then the next one");
            // an empty disconnect buffer is S6
            m.client.sendDisconnect(ByteBuffer.allocate(0));
            CloseEvent ev = It.awaitClose(m.accepted, "peer");
            assertTrue(ev.isGraceful(), ev.toString());
            assertEquals(0, m.accepted.receiveDisconnect(ByteBuffer.allocate(0)));
            assertEquals(0, m.accepted.receiveDisconnect().remaining());
        }
    }

    // ------------------------------------------------------------------ negative and out of range

    @Test
    void negativeAndOutOfRangeValues() throws Exception {
        try (It.Pair p = It.pair(Mode.STREAM)) {
            Connection c = p.client;
            for (int how : new int[] {-1, 3, 42, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
                assertWsa(WsdxException.class, WsaError.WSAEINVAL, () -> c.shutdown(how), "shutdown(" + how + ") (S4)");
            }
            assertProgrammingError(() -> c.read(ByteBuffer.allocate(4), Duration.ofMillis(-1)), "negative read timeout");
            assertProgrammingError(() -> c.setAbortTimeout(Duration.ofSeconds(-5)), "negative abort timeout");
            assertProgrammingError(() -> p.server.accept(Duration.ofNanos(-1)), "negative accept timeout");
            assertProgrammingError(() -> Linger.timeout(Duration.ofSeconds(-1)), "negative linger");
            assertProgrammingError(() -> Linger.timeout(Duration.ofSeconds(Linger.MAX_SECONDS + 1)), "linger over 65535 s");
            assertProgrammingError(() -> Linger.timeout(Duration.ofSeconds(Long.MAX_VALUE)), "linger of Long.MAX_VALUE s");
            try (Connection fresh = Connection.open(Mode.STREAM)) {
                assertProgrammingError(() -> fresh.connect(It.addr(p.server), Duration.ofSeconds(-1)), "negative connect timeout");
                assertProgrammingError(() -> fresh.connect(It.addr(p.server), Duration.ZERO), "zero connect timeout");
                assertFalse(fresh.isConnected());
            }
            // a huge (but valid) timeout is capped, not an error
            It.writeAll(p.accepted, It.buf("x"));
            assertEquals(1, c.read(ByteBuffer.allocate(4), Duration.ofDays(365L * 10_000)));
            // a negative or zero backlog means "the default"
            try (Server s = Server.bind(ANY_PORT, Mode.STREAM, -7); Server z = Server.bind(ANY_PORT, Mode.STREAM, 0)) {
                assertTrue(s.localPort() > 0 && z.localPort() > 0);
            }
            // state unchanged after all that (S4): both directions still work
            It.writeAll(c, It.buf("ok"));
            assertArrayEquals(It.bytes("ok"), It.readN(p.accepted, 2));
            assertFalse(c.closeFuture().isDone() || p.accepted.closeFuture().isDone());
        }
    }

    @Test
    void oversizedInputs() throws Exception {
        try (It.Pair m = It.pair(Mode.MESSAGE)) {
            for (boolean direct : new boolean[] {false, true}) {
                ByteBuffer big = direct ? ByteBuffer.allocateDirect(Connection.MAX_MESSAGE + 1)
                        : ByteBuffer.allocate(Connection.MAX_MESSAGE + 1);
                assertWsa(MessageTooLargeException.class, WsaError.WSAEMSGSIZE, () -> m.client.write(big),
                        "message of MAX_MESSAGE + 1 bytes, direct=" + direct);
                assertEquals(0, big.position(), "nothing taken from a refused message");
            }
            assertThrows(IllegalArgumentException.class,
                    () -> m.client.sendDisconnect(ByteBuffer.allocate(Connection.MAX_DISCONNECT_DATA + 1)));
            assertThrows(IllegalArgumentException.class,
                    () -> m.client.sendDisconnect(ByteBuffer.allocateDirect(1 << 20)));
            // the connection is unharmed
            It.writeAll(m.client, It.buf("fine"));
            assertArrayEquals(It.bytes("fine"), It.readMessage(m.accepted));
            // disconnect data into a buffer that is too small: WSAEFAULT, nothing consumed
            m.client.sendDisconnect(ByteBuffer.wrap(new byte[100]));
            It.awaitClose(m.accepted, "peer");
            assertWsa(BufferTooSmallException.class, WsaError.WSAEFAULT,
                    () -> m.accepted.receiveDisconnect(ByteBuffer.allocate(99)), "99-byte buffer for 100 bytes");
            assertEquals(100, m.accepted.receiveDisconnect(ByteBuffer.allocate(100)));
        }
    }

    @Test
    void readOnlyBuffersAreRefused() throws Exception {
        try (It.Pair p = It.pair(Mode.STREAM)) {
            ByteBuffer ro = ByteBuffer.allocate(8).asReadOnlyBuffer();
            assertThrows(IllegalArgumentException.class, () -> p.client.read(ro));
            assertThrows(IllegalArgumentException.class, () -> p.client.read(ro, WAIT));
            assertThrows(IllegalArgumentException.class, () -> p.client.receiveDisconnect(ro));
            // a read-only source is fine for writing and for disconnect data
            It.writeAll(p.client, It.buf("ro").asReadOnlyBuffer());
            assertArrayEquals(It.bytes("ro"), It.readN(p.accepted, 2));
            p.client.sendDisconnect(It.buf("bye").asReadOnlyBuffer());
            It.awaitClose(p.accepted, "peer");
            assertArrayEquals(It.bytes("bye"), It.remaining(p.accepted.receiveDisconnect()));
        }
    }

    // ------------------------------------------------------------------ wrong state

    @Test
    void callsInTheWrongState() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM)) {
            // unconnected
            try (Connection c = Connection.open(Mode.STREAM)) {
                assertWsa(NotConnectedException.class, WsaError.WSAENOTCONN, () -> c.write(It.buf("x")), "write");
                assertWsa(NotConnectedException.class, WsaError.WSAENOTCONN, () -> c.read(ByteBuffer.allocate(4), WAIT), "read");
                assertWsa(NotConnectedException.class, WsaError.WSAENOTCONN, () -> c.shutdown(Connection.SD_SEND), "shutdown (S4)");
                assertWsa(NotConnectedException.class, WsaError.WSAENOTCONN, () -> c.sendDisconnect(null), "sendDisconnect");
                assertWsa(NotConnectedException.class, WsaError.WSAENOTCONN, () -> c.receiveDisconnect(), "receiveDisconnect");
                assertFalse(c.isConnected());
                // and then it can still connect normally
                java.util.concurrent.CompletableFuture<Connection> acc = It.async("accept", () -> server.accept(WAIT));
                c.connect(It.addr(server), WAIT);
                assertTrue(c.isConnected());
                It.await(acc, "accept").close(); // before the next accept, so that it cannot take the next connection
                // connected: a second connect fails WSAEISCONN
                assertWsa(WsdxException.class, WsaError.WSAEISCONN, () -> c.connect(It.addr(server), WAIT), "second connect");
                assertTrue(c.isConnected());
            }
            // after shutdowns
            Connection[] cs = It.connectTo(server, Mode.STREAM);
            try (Connection c = cs[0]; Connection a = cs[1]) {
                c.shutdownOutput();
                assertWsa(ShutdownException.class, WsaError.WSAESHUTDOWN, () -> c.write(It.buf("x")), "write after SD_SEND");
                assertWsa(ShutdownException.class, WsaError.WSAESHUTDOWN, () -> c.sendDisconnect(null), "sendDisconnect after SD_SEND");
                a.shutdownInput();
                assertWsa(ShutdownException.class, WsaError.WSAESHUTDOWN, () -> a.read(ByteBuffer.allocate(4), WAIT), "read after SD_RECEIVE");
                It.writeAll(a, It.buf("back")); // sending goes on (S2)
                assertArrayEquals(It.bytes("back"), It.readN(c, 4));
            }
            // closed
            Connection closed = Connection.open(Mode.MESSAGE);
            closed.close();
            closed.close(); // no-op
            closed.close(Linger.abortive()); // no-op
            List<Executable> calls = List.of(() -> closed.write(It.buf("x")), () -> closed.read(ByteBuffer.allocate(4)),
                    () -> closed.read(ByteBuffer.allocate(4), WAIT), () -> closed.shutdown(Connection.SD_BOTH),
                    () -> closed.sendDisconnect(null), () -> closed.receiveDisconnect(),
                    () -> closed.receiveDisconnect(ByteBuffer.allocate(8)), () -> closed.setLinger(Linger.abortive()),
                    () -> closed.setAbortTimeout(Duration.ofSeconds(1)), () -> closed.configureBlocking(false),
                    () -> closed.localPort(), () -> closed.connect(It.addr(server), WAIT));
            for (int i = 0; i < calls.size(); i++) {
                assertWsa(SocketClosedException.class, WsaError.WSAENOTSOCK, calls.get(i), "call #" + i + " on a closed socket (S11)");
            }
            assertEquals(CloseEvent.Origin.LOCAL, closed.closeFuture().getNow(null).origin());
        }
        // a closed server
        Server s = Server.bind(ANY_PORT, Mode.STREAM);
        s.close();
        s.close(); // no-op
        assertWsa(SocketClosedException.class, WsaError.WSAENOTSOCK, s::accept, "accept on a closed server");
        assertWsa(SocketClosedException.class, WsaError.WSAENOTSOCK, () -> s.accept(Duration.ZERO), "poll on a closed server");
        assertWsa(SocketClosedException.class, WsaError.WSAENOTSOCK, s::rejectedCount, "rejectedCount on a closed server");
    }

    // ------------------------------------------------------------------ races

    /** Only WsdxException subclasses may come out of a racing call. */
    private static void raceCall(String what, Executable call, Map<String, Throwable> bad) {
        try {
            call.execute();
        } catch (WsdxException expected) {
            // closed underneath us, reset, shut down, ...: all typed
        } catch (Throwable t) {
            bad.putIfAbsent(what, t);
        }
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void closeRacingWriteReadReceiveDisconnectAndCloseRepeated200Times() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(5, r -> {
            Thread t = new Thread(r, "racer");
            t.setDaemon(true);
            return t;
        });
        Map<String, Throwable> bad = new ConcurrentHashMap<>();
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM); Server bystanders = Server.bind(ANY_PORT, Mode.MESSAGE)) {
            // connections that are not raced: their events must all come through afterwards
            List<Connection[]> others = new ArrayList<>();
            for (int i = 0; i < 10; i++) others.add(It.connectTo(bystanders, Mode.MESSAGE));
            for (int round = 0; round < 200; round++) {
                Connection[] cs = It.connectTo(server, Mode.STREAM);
                Connection c = cs[0];
                Connection peer = cs[1];
                It.writeAll(peer, It.buf("incoming " + round));
                CyclicBarrier go = new CyclicBarrier(5);
                Linger l = round % 3 == 0 ? Linger.abortive() : Linger.dontLinger();
                List<Future<?>> fs = new ArrayList<>();
                fs.add(pool.submit(() -> { go.await(); raceCall("close", () -> c.close(l), bad); return null; }));
                fs.add(pool.submit(() -> { go.await(); raceCall("close2", c::close, bad); return null; }));
                fs.add(pool.submit(() -> {
                    go.await();
                    for (int k = 0; k < 20; k++) raceCall("write", () -> c.write(It.buf("racing write")), bad);
                    return null;
                }));
                fs.add(pool.submit(() -> {
                    go.await();
                    for (int k = 0; k < 5; k++) raceCall("read", () -> c.read(ByteBuffer.allocate(64), Duration.ofMillis(5)), bad);
                    return null;
                }));
                fs.add(pool.submit(() -> {
                    go.await();
                    raceCall("receiveDisconnect", () -> c.receiveDisconnect(), bad);
                    return null;
                }));
                for (Future<?> f : fs) f.get(WAIT_S, TimeUnit.SECONDS);
                assertFalse(c.isOpen(), "round " + round + ": closed after the race");
                It.assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK, () -> c.write(It.buf("x")),
                        "round " + round + ": write after the race");
                CloseEvent ev = It.awaitClose(peer, "round " + round + " peer");
                assertTrue(ev.errorCode() == 0 || ev.errorCode() == WsaError.WSAECONNRESET,
                        "round " + round + ": peer sees a graceful close or a reset: " + ev);
                assertEquals(CloseEvent.Origin.LOCAL, c.closeFuture().get(WAIT_S, TimeUnit.SECONDS).origin(),
                        "round " + round + ": closed locally before any peer event");
                peer.close();
                if (!bad.isEmpty()) break;
            }
            assertTrue(bad.isEmpty(), "untyped exceptions from racing calls: " + bad);
            // every bystander still gets exactly its own event
            for (Connection[] o : others) {
                It.writeAll(o[1], It.buf("still here"));
                assertArrayEquals(It.bytes("still here"), It.readMessage(o[0]));
                o[1].close(Linger.abortive());
            }
            for (Connection[] o : others) {
                CloseEvent ev = It.awaitClose(o[0], "bystander");
                assertEquals(WsaError.WSAECONNRESET, ev.errorCode(), "bystander event " + ev);
                o[0].close();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ listeners

    @Test
    void listenersThatThrowErrorsOrHaveRefusingExecutorsLoseNothing() throws Exception {
        try (It.Pair p = It.pair(Mode.STREAM)) {
            It.Recorder after = new It.Recorder();
            p.client.onClose((c, e) -> { throw new StackOverflowError("listener error (expected by the test)"); }, Runnable::run);
            p.client.onClose((c, e) -> { throw new AssertionError("listener error (expected by the test)"); }, Runnable::run);
            p.client.onClose((c, e) -> fail("never run"), r -> { throw new RejectedExecutionException("refusing executor (expected)"); });
            p.client.onClose(after, Runnable::run);
            p.accepted.close(Linger.abortive());
            assertEquals(WsaError.WSAECONNRESET, It.awaitClose(p.client, "future").errorCode());
            assertEquals(WsaError.WSAECONNRESET, It.await(after.first, "listener after throwing ones").errorCode());
            // registering after the event delivers at once, also with a refusing executor in between
            It.Recorder late = new It.Recorder();
            p.client.onClose((c, e) -> { throw new IllegalStateException("late listener failure (expected)"); }, Runnable::run);
            p.client.onClose(late, Runnable::run);
            assertEquals(WsaError.WSAECONNRESET, It.await(late.first, "late listener").errorCode());
            Thread.sleep(100);
            assertEquals(1, after.count());
            assertEquals(1, late.count());
        }
    }

    @Test
    void blockingListenersDoNotDelayOtherConnectionsEvents() throws Exception {
        ExecutorService own = Executors.newSingleThreadExecutor();
        CountDownLatch release = new CountDownLatch(1);
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM)) {
            Connection[] blocked = It.connectTo(server, Mode.STREAM);
            Connection[] blockedDirect = It.connectTo(server, Mode.STREAM);
            AtomicInteger blockedRuns = new AtomicInteger();
            // one listener blocks its own executor, another blocks the wsdx event thread it runs on
            blocked[0].onClose((c, e) -> { blockedRuns.incrementAndGet(); awaitQuietly(release); }, own);
            blockedDirect[0].onClose((c, e) -> { blockedRuns.incrementAndGet(); awaitQuietly(release); }, Runnable::run);
            blocked[1].close();
            blockedDirect[1].close();
            It.awaitClose(blocked[0], "blocked connection's future");
            It.awaitClose(blockedDirect[0], "blocked-direct connection's future");
            long until = System.nanoTime() + WAIT.toNanos();
            while (blockedRuns.get() < 2 && System.nanoTime() < until) Thread.sleep(5);
            assertEquals(2, blockedRuns.get(), "both blocking listeners are running (and stuck)");
            try {
                // 30 other connections close while those listeners are stuck: every event arrives, quickly
                List<Connection[]> others = new ArrayList<>();
                List<It.Recorder> recs = new ArrayList<>();
                for (int i = 0; i < 30; i++) {
                    Connection[] o = It.connectTo(server, Mode.STREAM);
                    It.Recorder r = new It.Recorder();
                    o[0].onClose(r, Runnable::run);
                    others.add(o);
                    recs.add(r);
                }
                long t0 = System.nanoTime();
                for (int i = 0; i < others.size(); i++) {
                    if (i % 2 == 0) others.get(i)[1].close();
                    else others.get(i)[1].close(Linger.abortive());
                }
                for (int i = 0; i < recs.size(); i++) {
                    CloseEvent ev = It.await(recs.get(i).first, "event of connection " + i + " while listeners block");
                    assertEquals(i % 2 == 0 ? 0 : WsaError.WSAECONNRESET, ev.errorCode(), "connection " + i + ": " + ev);
                }
                long ms = Wire.elapsedMs(t0);
                assertTrue(ms < 3000, "30 events took " + ms + " ms while two listeners blocked");
                for (Connection[] o : others) {
                    o[0].close();
                }
            } finally {
                release.countDown();
                It.closeQuietly(blocked[0]);
                It.closeQuietly(blockedDirect[0]);
            }
        } finally {
            release.countDown();
            own.shutdownNow();
        }
    }

    private static void awaitQuietly(CountDownLatch l) {
        try {
            l.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
