package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.BufferTooSmallException;
import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.ConnectionRefusedException;
import dev.wsdx.Linger;
import dev.wsdx.MessageTooLargeException;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.SocketClosedException;
import dev.wsdx.WsaError;
import dev.wsdx.WsdxException;
import dev.wsdx.WsdxProtocolException;
import dev.wsdx.WsdxTimeoutException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Misuse and hostile input: the library must fail cleanly, never crash, never corrupt state. */
class BadInputTest {

    // ---------------------------------------------------------------- disconnect data

    @Test
    void oversizedDisconnectDataRejectedAndNothingSent() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            ByteBuffer big = ByteBuffer.allocate(Connection.MAX_DISCONNECT_DATA + 1); // 4097
            assertThrows(IllegalArgumentException.class, () -> local.sendDisconnect(big), "4097 bytes of disconnect data");
            assertEquals(0, big.position(), "nothing consumed from the rejected buffer");
            assertThrows(IllegalArgumentException.class,
                    () -> local.sendDisconnect(ByteBuffer.allocate(1 << 20)), "1 MiB of disconnect data");

            // nothing was sent: no close at the peer, connection fully usable
            assertStaysPending(peer.closeFuture(), "peer close event after a rejected sendDisconnect");
            writeAll(local, buf("still sending"));
            assertArrayEquals(bytes("still sending"), readN(peer, 13));

            // the maximum size is accepted and arrives intact
            byte[] max = new byte[Connection.MAX_DISCONNECT_DATA];
            for (int i = 0; i < max.length; i++) max[i] = pat(i + 5);
            local.sendDisconnect(ByteBuffer.wrap(max));
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
            assertEquals(-1, peer.read(ByteBuffer.allocate(8), WAIT));
            assertArrayEquals(max, remaining(peer.receiveDisconnect()));
        }
    }

    @Test
    void nullDisconnectDataMeansNoData() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            p.client.sendDisconnect(null);
            assertGracefulPeerClose(awaitClose(p.accepted, "peer"), "peer");
            assertEquals(0, p.accepted.receiveDisconnect().remaining());
        }
    }

    @Test
    void emptyDisconnectDataMeansNoData() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            p.client.sendDisconnect(ByteBuffer.allocate(0));
            assertGracefulPeerClose(awaitClose(p.accepted, "peer"), "peer");
            ByteBuffer dst = ByteBuffer.allocate(64);
            assertEquals(0, p.accepted.receiveDisconnect(dst));
        }
    }

    @Test
    void disconnectDataFromBufferSliceAndDirectBuffer() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            ByteBuffer direct = ByteBuffer.allocateDirect(32);
            direct.put(bytes("xxxxPAYLOADyyyy"));
            direct.flip();
            direct.position(4).limit(11); // only "PAYLOAD" is remaining
            p.client.sendDisconnect(direct);
            assertGracefulPeerClose(awaitClose(p.accepted, "peer"), "peer");
            assertArrayEquals(bytes("PAYLOAD"), remaining(p.accepted.receiveDisconnect()),
                    "only the buffer's remaining bytes are disconnect data");
        }
    }

    @Test
    void sendDisconnectTwiceFailsShutdown() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            p.client.sendDisconnect(buf("once"));
            assertWsaThrows(dev.wsdx.ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> p.client.sendDisconnect(buf("twice")), "second sendDisconnect");
            assertGracefulPeerClose(awaitClose(p.accepted, "peer"), "peer");
            assertArrayEquals(bytes("once"), remaining(p.accepted.receiveDisconnect()));
        }
    }

    @Test
    void receiveDisconnectIntoTooSmallBufferThenRetry() throws Exception {
        byte[] data = new byte[100];
        for (int i = 0; i < data.length; i++) data[i] = pat(i);
        try (Pair p = pair(Mode.STREAM)) {
            p.client.sendDisconnect(ByteBuffer.wrap(data));
            assertGracefulPeerClose(awaitClose(p.accepted, "peer"), "peer");

            ByteBuffer small = ByteBuffer.allocate(10);
            BufferTooSmallException e = assertThrows(BufferTooSmallException.class,
                    () -> p.accepted.receiveDisconnect(small), "receiveDisconnect into 10 bytes for 100");
            assertWsa(WsaError.WSAEFAULT, e);
            assertEquals(0, small.position(), "nothing written into the too-small buffer");
            assertThrows(BufferTooSmallException.class, () -> p.accepted.receiveDisconnect(ByteBuffer.allocate(99)));

            // nothing was consumed: a big enough buffer still gets all of it
            ByteBuffer big = ByteBuffer.allocate(Connection.MAX_DISCONNECT_DATA);
            int n = p.accepted.receiveDisconnect(big);
            assertEquals(100, n);
            assertArrayEquals(data, Arrays.copyOf(big.array(), n));
            // exactly-sized works too, and the data is still there
            ByteBuffer exact = ByteBuffer.allocate(100);
            assertEquals(100, p.accepted.receiveDisconnect(exact));
            assertArrayEquals(data, exact.array());
        }
    }

    // ---------------------------------------------------------------- linger values

    @Test
    void lingerValuesValidatedBeforeAnyNativeCall() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> Linger.timeout(Duration.ofSeconds(-1)));
        assertThrows(IllegalArgumentException.class, () -> Linger.timeout(Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class, () -> Linger.timeout(Duration.ofSeconds(65536)));
        Throwable t = assertThrows(RuntimeException.class, () -> Linger.timeout(null));
        assertTrue(t instanceof IllegalArgumentException || t instanceof NullPointerException, "Linger.timeout(null): " + t);

        assertEquals(Linger.abortive(), Linger.timeout(Duration.ZERO), "timeout 0 == abortive");
        assertEquals(2, Linger.timeout(Duration.ofMillis(1500)).seconds(), "sub-second rounds up");
        assertEquals(1, Linger.timeout(Duration.ofMillis(1)).seconds(), "sub-second rounds up");
        assertEquals(65535, Linger.timeout(Duration.ofSeconds(65535)).seconds());
        assertFalse(Linger.dontLinger().isOn());
        assertTrue(Linger.abortive().isOn());

        try (Pair p = pair(Mode.STREAM)) {
            Throwable n = assertThrows(RuntimeException.class, () -> p.client.setLinger(null));
            assertTrue(n instanceof IllegalArgumentException || n instanceof NullPointerException, "setLinger(null): " + n);
            assertEquals(Linger.dontLinger(), p.client.linger(), "a rejected setLinger changes nothing");
            p.client.setLinger(Linger.timeout(Duration.ofSeconds(3)));
            assertEquals(Linger.timeout(Duration.ofSeconds(3)), p.client.linger());
            // the connection still works
            writeAll(p.client, buf("ok"));
            assertArrayEquals(bytes("ok"), readN(p.accepted, 2));
        }
    }

    // ---------------------------------------------------------------- closed objects

    @Test
    void callsAfterCloseAndDoubleClose() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            p.client.close();
            p.client.close();
            p.client.close(Linger.abortive()); // also a no-op on a closed socket
            assertFalse(p.client.isOpen());
            assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK, () -> p.client.write(buf("x")), "write");
            assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK,
                    () -> p.client.read(ByteBuffer.allocate(8), WAIT), "read");
            assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK, p.client::receiveDisconnect, "receiveDisconnect");
            // the peer saw one graceful close, not a reset from the later close(abortive)
            assertGracefulPeerClose(awaitClose(p.accepted, "peer"), "peer");
        }
        Connection unconnected = Connection.open(Mode.STREAM);
        unconnected.close();
        unconnected.close();
        assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK,
                () -> unconnected.connect(new InetSocketAddress(HOST, 9)), "connect after close");
    }

    @Test
    void concurrentCloseFromTwoThreads() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM)) {
            for (int round = 0; round < 20; round++) {
                Connection[] cs = connectTo(server, Mode.STREAM);
                Connection c = cs[0];
                try (Connection peer = cs[1]) {
                    writeAll(c, buf("data " + round));
                    CyclicBarrier go = new CyclicBarrier(3);
                    List<CompletableFuture<Void>> closers = new ArrayList<>();
                    for (int k = 0; k < 3; k++) {
                        Linger l = k == 2 ? Linger.abortive() : null;
                        closers.add(asyncRun("closer", () -> {
                            go.await(WAIT_S, TimeUnit.SECONDS);
                            try {
                                if (l == null) c.close();
                                else c.close(l);
                            } catch (SocketClosedException ok) {
                                // the other thread got there first: allowed
                            }
                        }));
                    }
                    for (CompletableFuture<Void> f : closers) await(f, "concurrent close");
                    assertFalse(c.isOpen());
                    assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK, () -> c.write(buf("x")), "write after close");
                    CloseEvent ev = awaitClose(peer, "peer");
                    assertTrue(ev.errorCode() == 0 || ev.errorCode() == WsaError.WSAECONNRESET,
                            "peer sees a graceful close or a reset, nothing else: " + ev);
                }
            }
            // the library is still healthy
            Connection[] cs = connectTo(server, Mode.STREAM);
            try (Connection c = cs[0]; Connection peer = cs[1]) {
                writeAll(c, buf("alive"));
                assertArrayEquals(bytes("alive"), readN(peer, 5));
            }
        }
    }

    @Test
    void readAndWriteRacingCloseNeverCrash() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM)) {
            for (int round = 0; round < 10; round++) {
                Connection[] cs = connectTo(server, Mode.STREAM);
                Connection c = cs[0];
                try (Connection peer = cs[1]) {
                    CompletableFuture<Void> reader = asyncRun("racing-reader", () -> {
                        while (true) {
                            try {
                                c.read(ByteBuffer.allocate(1024), Duration.ofMillis(50));
                            } catch (WsdxTimeoutException t) {
                                // nothing yet: try again
                            } catch (WsdxException e) {
                                return; // closed underneath us: expected
                            }
                        }
                    });
                    CompletableFuture<Void> writer = asyncRun("racing-writer", () -> {
                        try {
                            while (true) c.write(buf("spam spam spam"));
                        } catch (WsdxException e) {
                            return;
                        }
                    });
                    Thread.sleep(20);
                    c.close();
                    await(reader, "reader notices the close");
                    await(writer, "writer notices the close");
                    drainQuietly(peer);
                }
            }
        }
    }

    private static void drainQuietly(Connection c) {
        try {
            ByteBuffer b = ByteBuffer.allocate(64 * 1024);
            while (true) {
                b.clear();
                if (c.read(b, WAIT) < 0) return;
            }
        } catch (IOException ignored) {
            // a reset is fine here
        }
    }

    // ---------------------------------------------------------------- listeners

    @Test
    void throwingListenerDoesNotStopOthersOrTheFuture() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            AtomicInteger thrown = new AtomicInteger();
            Recorder second = new Recorder();
            Recorder third = new Recorder();
            p.client.onClose((c, e) -> {
                thrown.incrementAndGet();
                throw new IllegalStateException("listener failure (expected by the test)");
            }, Runnable::run);
            p.client.onClose(second, Runnable::run);
            p.client.onClose((c, e) -> {
                throw new UnsupportedOperationException("second listener failure (expected by the test)");
            }, Runnable::run);
            p.client.onClose(third, Runnable::run);

            p.accepted.close();
            assertGracefulPeerClose(awaitClose(p.client, "local"), "local");
            assertGracefulPeerClose(await(second.first, "listener after a throwing one"), "second");
            assertGracefulPeerClose(await(third.first, "listener after two throwing ones"), "third");
            Thread.sleep(QUIET.toMillis());
            assertEquals(1, thrown.get());
            assertEquals(1, second.count());
            assertEquals(1, third.count());

            // the library still delivers events for other connections
            try (Pair q = pair(Mode.STREAM)) {
                Recorder r = new Recorder();
                q.client.onClose(r, Runnable::run);
                q.accepted.close(Linger.abortive());
                assertEquals(WsaError.WSAECONNRESET, await(r.first, "event on another connection").errorCode());
            }
        }
    }

    @Test
    void slowListenerDoesNotBlockOtherConnectionsEvents() throws Exception {
        try (Pair a = pair(Mode.STREAM); Pair b = pair(Mode.STREAM)) {
            CompletableFuture<Void> release = new CompletableFuture<>();
            a.client.onClose((c, e) -> release.join(), Runnable::run); // blocks until released
            Recorder rb = new Recorder();
            b.client.onClose(rb, Runnable::run);
            try {
                a.accepted.close();
                awaitClose(a.client, "first connection"); // the future must complete even if a listener blocks
                b.accepted.close();
                assertGracefulPeerClose(await(rb.first, "event of a second connection while a listener blocks"), "b");
            } finally {
                release.complete(null);
            }
        }
    }

    // ---------------------------------------------------------------- foreign peers

    @Test
    void plainTcpClientIsRejectedAndServerKeepsServing() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.MESSAGE)) {
            assertEquals(0, server.rejectedCount());
            // a plain TCP client speaking something else
            CompletableFuture<String> plain = async("plain-client", () -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(HOST, server.localPort()), 5000);
                    s.setSoTimeout((int) WAIT.toMillis());
                    OutputStream out = s.getOutputStream();
                    out.write(bytes("GET / HTTP/1.0\r\n\r\n"));
                    out.flush();
                    return readUntilEndOrReset(s.getInputStream());
                }
            });
            // and a real wsdx client right after
            CompletableFuture<Connection> real = async("real-client", () -> {
                Thread.sleep(200);
                return Connection.open(addr(server), Mode.MESSAGE);
            });

            Connection accepted = server.accept(WAIT);
            try (Connection peer = accepted; Connection client = await(real, "wsdx client connects")) {
                String outcome = await(plain, "plain client sees its connection end");
                assertTrue(outcome.startsWith("reset") || outcome.startsWith("eof"), "plain client: " + outcome);
                await(waitUntil(() -> server.rejectedCount() >= 1), "rejectedCount to count the plain client");
                assertEquals(1, server.rejectedCount());
                // the accepted connection is the wsdx one, and it works
                writeAll(client, buf("real"));
                assertArrayEquals(bytes("real"), readMessage(peer));
                writeAll(peer, buf("reply"));
                assertArrayEquals(bytes("reply"), readMessage(client));
            }

            // a plain client that connects and hangs up at once (FIN before 8 bytes) is rejected too
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(HOST, server.localPort()), 5000);
            }
            await(waitUntil(() -> server.rejectedCount() >= 2), "rejectedCount to count the silent client");
            // still serving
            Connection[] cs = connectTo(server, Mode.MESSAGE);
            try (Connection c = cs[0]; Connection peer = cs[1]) {
                c.sendDisconnect(buf("bye"));
                assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
                assertArrayEquals(bytes("bye"), remaining(peer.receiveDisconnect()));
            }
            assertEquals(2, server.rejectedCount());
        }
    }

    /** Reads what the server sends (its 8-byte preamble may come first) until EOF or reset. */
    private static String readUntilEndOrReset(InputStream in) throws IOException {
        byte[] b = new byte[1024];
        int total = 0;
        try {
            while (true) {
                int n = in.read(b);
                if (n < 0) return "eof after " + total + " bytes";
                total += n;
                assertTrue(total <= 64, "a rejected plain client should get at most the preamble, got " + total + " bytes");
            }
        } catch (SocketTimeoutException e) {
            return "timeout: connection neither closed nor reset within " + WAIT_S + " s (" + total + " bytes read)";
        } catch (SocketException e) {
            return "reset (" + e.getMessage() + ") after " + total + " bytes";
        }
    }

    @Test
    void wsdxClientToPlainServerFailsProtocol() throws Exception {
        try (ServerSocket plain = new ServerSocket()) {
            plain.bind(new InetSocketAddress(HOST, 0));
            CompletableFuture<Void> srv = asyncRun("plain-server", () -> {
                for (int i = 0; i < 2; i++) {
                    try (Socket s = plain.accept()) {
                        s.setSoTimeout((int) WAIT.toMillis());
                        s.getOutputStream().write(bytes("HELLO WORLD\n"));
                        s.getOutputStream().flush();
                        try {
                            InputStream in = s.getInputStream();
                            while (in.read(new byte[256]) >= 0) {
                                // discard the client's preamble until it hangs up
                            }
                        } catch (IOException reset) {
                            // the client resets: fine
                        }
                    }
                }
            });
            InetSocketAddress a = new InetSocketAddress(HOST, plain.getLocalPort());
            WsdxProtocolException e = assertThrows(WsdxProtocolException.class,
                    () -> Connection.open(a, Mode.STREAM), "wsdx client to a plain TCP server");
            assertWsa(WsaError.WSAEPROTONOSUPPORT, e);

            // via an unconnected socket: it stays unconnected and usable for another connect
            try (Connection c = Connection.open(Mode.MESSAGE)) {
                assertThrows(WsdxProtocolException.class, () -> c.connect(a, WAIT));
                assertTrue(c.isOpen());
                assertFalse(c.isConnected(), "a failed handshake leaves the socket unconnected");
                try (Server real = Server.bind(ANY_PORT, Mode.MESSAGE)) {
                    CompletableFuture<Connection> acc = async("accept", () -> real.accept(WAIT));
                    c.connect(addr(real), WAIT);
                    try (Connection peer = await(acc, "accept after a failed connect")) {
                        writeAll(c, buf("second try"));
                        assertArrayEquals(bytes("second try"), readMessage(peer));
                    }
                }
            }
            await(srv, "plain server");
        }
    }

    @Test
    void modeMismatchIsRejectedOnBothSides() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.MESSAGE)) {
            WsdxProtocolException e = assertThrows(WsdxProtocolException.class,
                    () -> Connection.open(addr(server), Mode.STREAM), "STREAM client to a MESSAGE server");
            assertWsa(WsaError.WSAEPROTOTYPE, e);
            await(waitUntil(() -> server.rejectedCount() >= 1), "server counts the mismatched client");
            assertThrows(WsdxTimeoutException.class, () -> server.accept(Duration.ofMillis(300)),
                    "the mismatched client is never returned by accept");
        }
    }

    @Test
    void connectToClosedPortIsRefused() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(HOST, 0));
            port = s.getLocalPort();
        }
        ConnectionRefusedException e = assertThrows(ConnectionRefusedException.class,
                () -> Connection.open(new InetSocketAddress(HOST, port), Mode.STREAM));
        assertWsa(WsaError.WSAECONNREFUSED, e);
    }

    // ---------------------------------------------------------------- messages

    @Test
    void messageLargerThanBufferIsTruncatedWithMsgSize() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            writeAll(p.accepted, buf("0123456789ABCDEF"));
            writeAll(p.accepted, buf("next"));
            ByteBuffer small = ByteBuffer.allocate(10);
            MessageTooLargeException e = assertThrows(MessageTooLargeException.class,
                    () -> p.client.read(small, WAIT), "16-byte message into 10 bytes");
            assertWsa(WsaError.WSAEMSGSIZE, e);
            assertArrayEquals(bytes("0123456789"), Arrays.copyOf(small.array(), 10), "the first len bytes are returned");
            assertArrayEquals(bytes("next"), readMessage(p.client), "the rest of the cut message is dropped; boundaries kept");
        }
    }

    @Test
    void readTimeoutWhenNothingArrives() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            WsdxTimeoutException e = assertThrows(WsdxTimeoutException.class,
                    () -> p.client.read(ByteBuffer.allocate(8), Duration.ofMillis(200)));
            assertWsa(WsaError.WSAETIMEDOUT, e);
            // a timeout is not a failure of the connection
            writeAll(p.accepted, buf("late"));
            assertArrayEquals(bytes("late"), readN(p.client, 4));
        }
    }

    @Test
    void acceptTimeout() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM)) {
            assertWsaThrows(WsdxTimeoutException.class, WsaError.WSAETIMEDOUT,
                    () -> server.accept(Duration.ofMillis(200)), "accept with nobody connecting");
        }
    }

    private static CompletableFuture<Void> waitUntil(It.ThrowingSupplier<Boolean> cond) {
        return asyncRun("wait", () -> {
            while (!cond.get()) Thread.sleep(10);
        });
    }
}
