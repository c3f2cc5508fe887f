package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.wsdx.internal.CloseDispatcher;
import dev.wsdx.internal.Readiness;
import dev.wsdx.internal.WsdxNative;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 10.4: connections dropped without close() are released by the cleaner (the close-callback
 * table does not keep them reachable) and reported with where they were opened.
 */
class LeakTrackerTest {
    static final int PAIRS = 20;

    @AfterEach
    void restore() {
        LeakTracker.reports = null;
        LeakTracker.level = 1;
    }

    @Test
    void droppedConnectionsAreReleasedAndReportedWithTheirOpeningSite() throws Exception {
        LeakTracker.level = 2;
        List<String> reports = new CopyOnWriteArrayList<>();
        LeakTracker.reports = reports::add;
        try (Server server = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM)) {
            List<Connection> kept = new ArrayList<>();
            for (int i = 0; i < PAIRS; i++) kept.addAll(List.of(pair(server)));
            long[] handles = kept.stream().mapToLong(Connection::handle).toArray();
            for (long h : handles) assertTrue(open(h), "open while reachable: " + h);
            kept = null; // dropped without close()
            // Only this test's handles are judged: other classes' dropped connections may be
            // collected (and counted in the global figures) at any time.
            awaitGc(() -> Arrays.stream(handles).allMatch(h -> !open(h) && !CloseDispatcher.registered(h)
                    && reportOf(reports, h) != null));
            for (long h : handles) {
                assertFalse(open(h), "the cleaner released " + h);
                assertFalse(CloseDispatcher.registered(h), "no close-callback registration left for " + h);
                String r = reportOf(reports, h);
                assertNotNull(r, "reported: " + h);
                assertTrue(r.startsWith("LEAK: "), r);
                assertTrue(r.contains("at dev.wsdx.LeakTrackerTest."), "names where it was opened: " + r);
            }
        }
    }

    @Test
    void aClosedConnectionIsNeverReported() throws Exception {
        List<String> reports = new CopyOnWriteArrayList<>();
        LeakTracker.reports = reports::add;
        LeakTracker.level = 2;
        List<Long> handles = new ArrayList<>();
        try (Server server = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM)) {
            for (int i = 0; i < 5; i++) {
                Connection[] c = pair(server);
                handles.add(c[0].handle());
                handles.add(c[1].handle());
                c[0].close();
                c[1].close();
            }
        }
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
        }
        for (long h : handles) assertNull(reportOf(reports, h), "closed, yet reported: " + h);
    }

    @Test
    void aDroppedConnectionThatWaitedForReadinessLeavesNoWaiterEntry() throws Exception {
        LeakTracker.reports = r -> { };
        try (Server server = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM)) {
            Connection[] kept = pair(server); // the server's own waiter entry (a parked accept) exists now
            long[] handles = readOnceAndDrop(server);
            awaitGc(() -> Arrays.stream(handles).noneMatch(LeakTrackerTest::open));
            for (long h : handles) {
                assertFalse(open(h), "the cleaner released " + h);
                assertFalse(Readiness.tracked(h), "no waiter entry left for released " + h);
            }
            kept[0].close();
            kept[1].close();
        }
    }

    /** An asynchronous read that had to wait for FD_READ, then both ends dropped without close(). */
    private static long[] readOnceAndDrop(Server server) throws Exception {
        Connection[] c = pair(server);
        CompletableFuture<Integer> r = c[1].readAsync(java.nio.ByteBuffer.allocate(1));
        for (int i = 0; i < 1000 && !Readiness.tracked(c[1].handle()); i++) Thread.sleep(5);
        assertTrue(Readiness.tracked(c[1].handle()), "the read waits for FD_READ");
        c[0].write(java.nio.ByteBuffer.wrap(new byte[] {1}));
        assertEquals(1, r.get(10, TimeUnit.SECONDS));
        return new long[] {c[0].handle(), c[1].handle()};
    }

    /** Whether the native handle is still open (a closed one fails WSAENOTSOCK; handles are not reused). */
    private static boolean open(long h) {
        return WsdxNative.wsdx_get_option(h, 1) != -WsaError.WSAENOTSOCK;
    }

    private static String reportOf(List<String> reports, long h) {
        String id = " " + h + " was garbage-collected";
        return reports.stream().filter(r -> r.contains(id)).findFirst().orElse(null);
    }

    /** Collects until done holds (the cleaner thread runs after a GC found the objects), 20 s at most. */
    private static void awaitGc(BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
    }

    private static Connection[] pair(Server server) throws Exception {
        InetSocketAddress a = new InetSocketAddress("127.0.0.1", server.localPort());
        CompletableFuture<Connection> client = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                client.complete(Connection.open(a, Mode.STREAM));
            } catch (Throwable e) {
                client.completeExceptionally(e);
            }
        });
        t.start();
        Connection accepted = server.accept(Duration.ofSeconds(10));
        return new Connection[] {client.get(10, TimeUnit.SECONDS), accepted};
    }
}
