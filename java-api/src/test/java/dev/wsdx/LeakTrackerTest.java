package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.wsdx.internal.CloseDispatcher;
import dev.wsdx.internal.Readiness;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
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
            int handles = Wsdx.openHandles();
            int sinks = CloseDispatcher.registered();
            openAndDrop(server);
            assertEquals(handles + 2 * PAIRS, Wsdx.openHandles(), "all still open right after");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while ((Wsdx.openHandles() > handles || CloseDispatcher.registered() > sinks) && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(20); // the cleaner thread runs after the GC found them
            }
            assertEquals(handles, Wsdx.openHandles(), "the cleaner released every dropped handle");
            assertEquals(sinks, CloseDispatcher.registered(), "no close-callback registration left");
        }
        assertTrue(reports.size() >= 2 * PAIRS, reports.size() + " leak reports");
        for (String r : reports) {
            assertTrue(r.startsWith("LEAK: "), r);
            assertTrue(r.contains("at dev.wsdx.LeakTrackerTest."), "names where it was opened: " + r);
        }
    }

    @Test
    void aClosedConnectionIsNeverReported() throws Exception {
        List<String> reports = new CopyOnWriteArrayList<>();
        LeakTracker.reports = reports::add;
        LeakTracker.level = 2;
        long before = LeakTracker.leaks();
        try (Server server = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM)) {
            for (int i = 0; i < 5; i++) {
                Connection[] c = pair(server);
                c[0].close();
                c[1].close();
            }
        }
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertEquals(before, LeakTracker.leaks(), String.valueOf(reports));
    }

    @Test
    void aDroppedConnectionThatWaitedForReadinessLeavesNoWaiterEntry() throws Exception {
        LeakTracker.reports = r -> { };
        try (Server server = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM)) {
            Connection[] kept = pair(server); // the server's own waiter entry (a parked accept) exists now
            int handles = Wsdx.openHandles();
            int waiters = Readiness.tracked();
            readOnceAndDrop(server);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (Wsdx.openHandles() > handles && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(20);
            }
            assertEquals(handles, Wsdx.openHandles(), "the cleaner released both handles");
            assertEquals(waiters, Readiness.tracked(), "no waiter entry left for a released handle");
            kept[0].close();
            kept[1].close();
        }
    }

    /** An asynchronous read that had to wait for FD_READ, then both ends dropped without close(). */
    private static void readOnceAndDrop(Server server) throws Exception {
        Connection[] c = pair(server);
        int waiters = Readiness.tracked();
        CompletableFuture<Integer> r = c[1].readAsync(java.nio.ByteBuffer.allocate(1));
        for (int i = 0; i < 1000 && Readiness.tracked() == waiters; i++) Thread.sleep(5);
        assertEquals(waiters + 1, Readiness.tracked(), "the read waits for FD_READ");
        c[0].write(java.nio.ByteBuffer.wrap(new byte[] {1}));
        assertEquals(1, r.get(10, TimeUnit.SECONDS));
    }

    private static void openAndDrop(Server server) throws Exception {
        for (int i = 0; i < PAIRS; i++) pair(server);
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
