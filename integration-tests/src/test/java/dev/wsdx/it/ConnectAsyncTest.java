package dev.wsdx.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.wsdx.Connection;
import dev.wsdx.ConnectionRefusedException;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import dev.wsdx.NotConnectedException;
import dev.wsdx.Server;
import dev.wsdx.SocketClosedException;
import dev.wsdx.WsaError;
import dev.wsdx.WsdxException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Issue 10, points 1 and 6: connect without a waiting thread. {@code connectAsync}/{@code openAsync}
 * complete on the executor; a non-blocking {@code connect} returns at once and
 * {@code finishConnect} finishes it, as {@code SocketChannel} does; a blocking connect on a virtual
 * thread parks instead of pinning its carrier.
 */
class ConnectAsyncTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @Test
    void I1_connectAsyncCompletesOnTheExecutorAndDataFlows() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor(r -> new Thread(r, "completions"));
        java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.Executor ex = task -> {
            ran.incrementAndGet();
            pool.execute(task);
        };
        try (Server server = Server.bind(It.ANY_PORT, Mode.MESSAGE); Connection c = Connection.open(Mode.MESSAGE)) {
            CompletableFuture<Connection> f = c.executor(ex).connectAsync(It.addr(server), TIMEOUT);
            assertSame(c, f.get(10, TimeUnit.SECONDS));
            assertEquals(1, ran.get(), "the completion ran on the connection's executor");
            assertTrue(c.isConnected());
            assertTrue(c.isBlocking(), "connectAsync keeps the blocking mode");
            try (Connection a = server.accept(It.WAIT)) {
                c.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
                assertEquals(3, a.read(ByteBuffer.allocate(8), It.WAIT));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void I6_nonBlockingConnectReturnsAtOnceAndFinishConnectFinishesIt() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress());
                Connection c = Connection.open(Mode.STREAM)) {
            c.configureBlocking(false);
            assertThrows(NotConnectedException.class, c::finishConnect, "no connect started");
            long t0 = System.nanoTime();
            c.connect(new InetSocketAddress("127.0.0.1", silent.getLocalPort()), TIMEOUT);
            assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "a non-blocking connect does not wait");
            assertTrue(c.isConnectionPending());
            assertFalse(c.isConnected());
            WsdxException again = assertThrows(WsdxException.class,
                    () -> c.connect(new InetSocketAddress("127.0.0.1", silent.getLocalPort()), TIMEOUT));
            assertEquals(WsaError.WSAEALREADY, again.wsaError());
            try (Socket peer = silent.accept()) { // the server's preamble arrives: the connect ends
                assertFalse(c.finishConnect(), "still waiting for the server's preamble");
                OutputStream out = peer.getOutputStream();
                out.write(Wire.preamble(Mode.STREAM));
                out.flush();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                boolean done;
                while (!(done = c.finishConnect()) && System.nanoTime() < deadline) Thread.sleep(5);
                assertTrue(done);
                assertTrue(c.isConnected());
                assertFalse(c.isConnectionPending());
            }
        }
    }

    @Test
    void I6_aRefusedConnectAsyncFailsWithConnectException() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Connection c = Connection.open(Mode.STREAM);
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> c.connectAsync(new InetSocketAddress("127.0.0.1", port), TIMEOUT).get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof ConnectionRefusedException, e.toString());
        assertFalse(c.isConnected());
        assertTrue(c.isOpen(), "the socket stays, unconnected");
        c.close();
        // openAsync closes its socket when the connect fails
        int before = dev.wsdx.Wsdx.openHandles();
        ExecutionException o = assertThrows(ExecutionException.class, () -> Connection.openAsync(
                new InetSocketAddress("127.0.0.1", port), Mode.STREAM, TIMEOUT).get(10, TimeUnit.SECONDS));
        assertTrue(o.getCause() instanceof ConnectionRefusedException, o.toString());
        // a closed socket counts until the notifier frees it between its batches (Wsdx.openHandles),
        // which may come after get() returned
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (dev.wsdx.Wsdx.openHandles() > before && System.nanoTime() < until) Thread.sleep(5);
        assertTrue(dev.wsdx.Wsdx.openHandles() <= before, "openAsync released its socket");
    }

    @Test
    void S11_closeDuringABackgroundConnectFailsItWithSocketClosed() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress())) {
            Connection c = Connection.open(Mode.STREAM);
            CompletableFuture<Connection> f =
                    c.connectAsync(new InetSocketAddress("127.0.0.1", silent.getLocalPort()), TIMEOUT);
            try (Socket peer = silent.accept()) { // connected in TCP; the preamble never comes
                assertFalse(f.isDone());
                c.close(Linger.abortive());
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof SocketClosedException, e.toString());
            }
        }
    }

    @Test
    void I1_blockingConnectsOnVirtualThreadsParkWithoutPinningCarriers() throws Exception {
        Assumptions.assumeTrue(ChildJvm.exists(ChildJvm.JDK25),
                "SKIPPED: no JDK 25 at " + ChildJvm.JDK25 + " for the virtual-thread test");
        int n = 64;
        try (ServerSocket silent = new ServerSocket(0, n, java.net.InetAddress.getLoopbackAddress())) {
            List<Socket> peers = new ArrayList<>();
            CompletableFuture<Void> acceptor = It.asyncRun("accept", () -> {
                for (int i = 0; i < n; i++) peers.add(silent.accept());
            });
            try (ChildJvm child = ChildJvm.start(ChildJvm.JDK25,
                    List.of("-Djdk.virtualThreadScheduler.parallelism=2", "-Djdk.virtualThreadScheduler.maxPoolSize=2",
                            "--enable-native-access=ALL-UNNAMED"),
                    VirtualConnectors.class, String.valueOf(silent.getLocalPort()), String.valueOf(n))) {
                String ready = child.await(120, "READY", "STUCK");
                assertTrue(ready.startsWith("READY entered=" + n + " connected=0"), ready);
                acceptor.get(60, TimeUnit.SECONDS);
                for (Socket p : peers) p.getOutputStream().write(Wire.preamble(Mode.STREAM));
                String done = child.await(120, "DONE");
                assertEquals("DONE connected=" + n, done.trim());
            } finally {
                for (Socket p : peers) p.close();
            }
        }
    }
}
