package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.DisconnectedException;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.WsaError;
import dev.wsdx.demo.SeedScenarioDemo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The seed's scenario ("Exchanging user data at shutdown time"): clients count their
 * transactions, end the session with WSPSendDisconnect carrying the count, and the server
 * answers with WSPSendDisconnect carrying the grand total over all clients.
 * Totals travel as 8-byte big-endian longs.
 */
class ScenarioTest {

    private static final long HELLO = -1L; // first 8 bytes a client sends: its id follows (not a transaction)

    @Test
    void Scenario_disconnectDataExchange() throws Exception {
        runScenario(Mode.MESSAGE);
    }

    @Test
    void Scenario_disconnectDataExchangeStreamMode() throws Exception {
        runScenario(Mode.STREAM);
    }

    @Test
    void Scenario_demoRunsAllStepsAndExitsZero() throws Exception {
        for (Mode mode : Mode.values()) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            int rc;
            try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
                rc = SeedScenarioDemo.run(3, 4, mode, out);
            }
            String text = bytes.toString(StandardCharsets.UTF_8);
            assertEquals(0, rc, "demo exit code in " + mode + " mode; output:\n" + text);
            for (int step = 1; step <= 8; step++) {
                assertTrue(text.contains("(" + step + ")"), "demo prints step (" + step + "):\n" + text);
            }
            assertTrue(text.contains("(5')"), "demo prints step (5'):\n" + text);
            // 3 clients x 4 transactions: the last client to finish gets the grand total 12
            assertTrue(text.contains("total=12"), "demo reports the grand total 12:\n" + text);
        }
    }

    // ------------------------------------------------------------------ machinery

    /** Global order of the steps, to check the causal order the spec lists. */
    private final AtomicLong clock = new AtomicLong();
    private final Map<String, Long> steps = new ConcurrentHashMap<>();

    private void step(long client, String side, String step) {
        steps.put(client + "/" + side + "/" + step, clock.incrementAndGet());
    }

    private long at(long client, String side, String step) {
        Long t = steps.get(client + "/" + side + "/" + step);
        assertNotNull(t, "client " + client + ": " + side + " step (" + step + ") never happened");
        return t;
    }

    /** What the server did for one client. */
    record Session(long clientId, long clientTotal, long countedByServer, long grandTotalSent, CloseEvent fdClose) {}

    /** The server of the scenario: one thread per connection, one grand total. */
    final class GrandTotalServer implements AutoCloseable {
        final Server server;
        final Mode mode;
        private final Object lock = new Object();
        private long grandTotal;
        final Map<Long, Session> sessions = new ConcurrentHashMap<>();
        final List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        private final List<CompletableFuture<Void>> handlers = Collections.synchronizedList(new ArrayList<>());

        GrandTotalServer(Mode mode) throws IOException {
            this.mode = mode;
            this.server = Server.bind(ANY_PORT, mode);
        }

        /** Accepts n clients in the background, each handled on its own thread. */
        CompletableFuture<Void> serve(int n) {
            return asyncRun("scenario-accept", () -> {
                for (int i = 0; i < n; i++) {
                    Connection c = server.accept(WAIT);
                    handlers.add(asyncRun("scenario-session", () -> {
                        try {
                            handle(c);
                        } catch (Throwable t) {
                            errors.add(t);
                            throw t;
                        } finally {
                            closeQuietly(c);
                        }
                    }));
                }
            });
        }

        void awaitHandlers() throws Exception {
            for (CompletableFuture<Void> h : new ArrayList<>(handlers)) await(h, "server session");
        }

        private void handle(Connection c) throws Exception {
            long id = readLong(c);
            assertEquals(HELLO, id, "hello marker");
            id = readLong(c);
            long counted = 0;
            // transactions until the client's graceful close: recv returns 0 / WSAEDISCON
            while (true) {
                Long tx = readLongOrEnd(c);
                if (tx == null) break;
                counted++;
                assertEquals(counted, (long) tx, "client " + id + " transaction sequence");
                writeLong(c, counted); // the acknowledgement
            }
            // (2) FD_CLOSE, graceful
            CloseEvent ev = awaitClose(c, "server side of client " + id);
            assertGracefulPeerClose(ev, "server side of client " + id);
            step(id, "server", "2");
            // (3) WSPRecvDisconnect: the client's total
            ByteBuffer d = c.receiveDisconnect();
            step(id, "server", "3");
            assertEquals(8, d.remaining(), "client " + id + " disconnect data length");
            long clientTotal = d.getLong();
            // (4) grand total over all clients
            long g;
            synchronized (lock) {
                grandTotal += clientTotal;
                g = grandTotal;
            }
            step(id, "server", "4");
            // (5) WSPSendDisconnect with the grand total
            step(id, "server", "5");
            c.sendDisconnect(longBuf(g));
            // (5') WSPCloseSocket
            c.close();
            step(id, "server", "5'");
            sessions.put(id, new Session(id, clientTotal, counted, g, ev));
        }

        @Override
        public void close() {
            server.close();
        }
    }

    /** One client's whole session; returns the grand total it received. */
    private long client(Server server, long id, int transactions, CyclicBarrier beforeDisconnect) throws Exception {
        try (Connection c = Connection.open(addr(server), server.mode())) {
            writeLong(c, HELLO);
            writeLong(c, id);
            for (long t = 1; t <= transactions; t++) {
                writeLong(c, t);
                assertEquals(t, readLong(c), "client " + id + ": server acknowledged transaction " + t);
            }
            if (beforeDisconnect != null) beforeDisconnect.await(WAIT_S, TimeUnit.SECONDS);
            // (1) WSPSendDisconnect with the transaction total
            step(id, "client", "1");
            c.sendDisconnect(longBuf(transactions));
            // (6) FD_CLOSE
            CloseEvent ev = awaitClose(c, "client " + id);
            step(id, "client", "6");
            assertGracefulPeerClose(ev, "client " + id);
            assertTrue(ev.hasDisconnectData(), "client " + id + ": FD_CLOSE flags disconnect data: " + ev);
            assertEndOfData(c, "client " + id);
            // (7) WSPRecvDisconnect: the grand total
            ByteBuffer g = c.receiveDisconnect();
            step(id, "client", "7");
            assertEquals(8, g.remaining(), "client " + id + ": grand total length");
            long grand = g.getLong();
            // (8) WSPCloseSocket
            c.close();
            step(id, "client", "8");
            return grand;
        }
    }

    private void runScenario(Mode mode) throws Exception {
        int[] sequentialTx = {3, 5, 7, 11, 13};
        int[] concurrentTx = {2, 4, 8, 16, 32}; // distinct subset sums: every arrival order is recoverable
        try (GrandTotalServer gts = new GrandTotalServer(mode)) {
            CompletableFuture<Void> acceptor = gts.serve(sequentialTx.length + concurrentTx.length);

            // sequential clients: each must get the running total
            long expected = 0;
            for (int i = 0; i < sequentialTx.length; i++) {
                long id = i + 1;
                expected += sequentialTx[i];
                long got = client(gts.server, id, sequentialTx[i], null);
                assertEquals(expected, got, "sequential client " + id + " grand total");
                // and the server's steps for it are all done and in order
                await(waitFor(() -> gts.sessions.containsKey(id)), "server session " + id + " finished");
            }
            long afterSequential = expected;

            // concurrent clients: all transact, then all disconnect at once
            CyclicBarrier barrier = new CyclicBarrier(concurrentTx.length);
            List<CompletableFuture<Long>> clients = new ArrayList<>();
            for (int i = 0; i < concurrentTx.length; i++) {
                long id = 100 + i;
                int tx = concurrentTx[i];
                clients.add(async("scenario-client-" + id, () -> client(gts.server, id, tx, barrier)));
            }
            Map<Long, Long> grandById = new ConcurrentHashMap<>();
            for (int i = 0; i < clients.size(); i++) grandById.put(100L + i, await(clients.get(i), "concurrent client " + (100 + i)));
            await(acceptor, "acceptor");
            gts.awaitHandlers();
            assertTrue(gts.errors.isEmpty(), "server errors: " + gts.errors);

            // each concurrent client got what the server sent it; totals form a chain of partial sums
            List<Session> conc = new ArrayList<>();
            for (int i = 0; i < concurrentTx.length; i++) {
                long id = 100 + i;
                Session s = gts.sessions.get(id);
                assertNotNull(s, "server session for client " + id);
                assertEquals(concurrentTx[i], s.clientTotal(), "client " + id + " total received by the server (step 3)");
                assertEquals(s.countedByServer(), s.clientTotal(), "client's total matches the server's own count");
                assertEquals(s.grandTotalSent(), (long) grandById.get(id), "client " + id + " received the grand total the server sent");
                conc.add(s);
            }
            conc.sort((a, b) -> Long.compare(a.grandTotalSent(), b.grandTotalSent()));
            long prev = afterSequential;
            for (Session s : conc) {
                assertEquals(prev + s.clientTotal(), s.grandTotalSent(), "grand totals are consecutive partial sums: " + conc);
                prev = s.grandTotalSent();
            }
            long sum = afterSequential;
            for (int t : concurrentTx) sum += t;
            assertEquals(sum, prev, "final grand total");

            // causal order of the steps, for every client
            for (Long id : gts.sessions.keySet()) {
                assertTrue(at(id, "client", "1") < at(id, "server", "2"), "client " + id + ": (1) before (2)");
                assertTrue(at(id, "server", "2") < at(id, "server", "3"), "client " + id + ": (2) before (3)");
                assertTrue(at(id, "server", "3") < at(id, "server", "4"), "client " + id + ": (3) before (4)");
                assertTrue(at(id, "server", "5") < at(id, "server", "5'"), "client " + id + ": (5) before (5')");
                assertTrue(at(id, "server", "5") < at(id, "client", "6"), "client " + id + ": (5) before (6)");
                assertTrue(at(id, "client", "6") < at(id, "client", "7"), "client " + id + ": (6) before (7)");
                assertTrue(at(id, "client", "7") < at(id, "client", "8"), "client " + id + ": (7) before (8)");
            }
        }
    }

    private static CompletableFuture<Void> waitFor(java.util.function.BooleanSupplier cond) {
        return asyncRun("wait", () -> {
            while (!cond.getAsBoolean()) Thread.sleep(10);
        });
    }

    // ------------------------------------------------------------------ wire helpers

    private static void writeLong(Connection c, long v) throws IOException {
        writeAll(c, longBuf(v)); // MESSAGE mode: one 8-byte message
    }

    private static long readLong(Connection c) throws IOException {
        Long v = readLongOrEnd(c);
        if (v == null) throw new AssertionError("connection ended while a long was expected");
        return v;
    }

    /** The next 8-byte long, or null at a graceful end (recv 0 in stream mode, WSAEDISCON in message mode). */
    private static Long readLongOrEnd(Connection c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8);
        if (c.mode() == Mode.MESSAGE) {
            int n;
            try {
                n = c.read(b, WAIT);
            } catch (DisconnectedException e) {
                assertWsa(WsaError.WSAEDISCON, e);
                return null;
            }
            assertEquals(8, n, "message length");
        } else {
            while (b.hasRemaining()) {
                int n = c.read(b, WAIT);
                if (n < 0) {
                    assertEquals(0, b.position(), "stream ended in the middle of a long");
                    return null;
                }
            }
        }
        b.flip();
        return b.getLong();
    }

    private static void assertEndOfData(Connection c, String who) throws IOException {
        assertNull(readLongOrEnd(c), who + ": after FD_CLOSE recv returns 0 / WSAEDISCON");
    }
}
