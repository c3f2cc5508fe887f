package dev.wsdx.it;

import static dev.wsdx.it.It.ANY_PORT;
import static dev.wsdx.it.It.HOST;
import static dev.wsdx.it.It.WAIT;
import static dev.wsdx.it.It.async;
import static dev.wsdx.it.It.await;
import static dev.wsdx.it.It.awaitClose;
import static dev.wsdx.it.It.closeQuietly;
import static dev.wsdx.it.Wire.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.ConnectionAbortedException;
import dev.wsdx.ConnectionResetException;
import dev.wsdx.DisconnectedException;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import dev.wsdx.NotConnectedException;
import dev.wsdx.Server;
import dev.wsdx.WouldBlockException;
import dev.wsdx.WsaCoded;
import dev.wsdx.WsaError;
import dev.wsdx.MessageTooLargeException;
import dev.wsdx.Wsdx;
import dev.wsdx.WsdxException;
import dev.wsdx.WsdxProtocolException;
import dev.wsdx.WsdxTimeoutException;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Hostile and broken peers (issue 5), loopback only: raw {@link Socket}/{@link ServerSocket} peers
 * write hand-made bytes of docs/protocol.md. Each case checks the exception / close event on the
 * wsdx side, what the raw peer sees (reset), and that a second, healthy connection on the same
 * server keeps working.
 */
class HostilePeerTest {

    private static void awaitRejected(Server server, long n) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (server.rejectedCount() < n && System.nanoTime() < deadline) Thread.sleep(5);
        assertEquals(n, server.rejectedCount(), "rejectedCount");
    }

    /**
     * Asserts the wsdx side reports {@code code} on a read, then as its close event, and resets the raw
     * peer. The read comes first: the library only parses incoming frames when the application reads
     * (docs/protocol.md: "When errors are seen"; see {@link #protocolErrorsAreReportedAtThePeersFinWithoutARead()}).
     */
    private static void assertBrokenByPeer(Connection c, Socket raw, int code, String what) throws Exception {
        WsaCoded e = (WsaCoded) assertThrows(IOException.class, () -> {
            ByteBuffer b = ByteBuffer.allocate(64 * 1024);
            while (true) {
                b.clear();
                if (c.read(b, WAIT) < 0) return; // end of stream: no error reported at all
            }
        }, what + ": read must fail once the connection is broken");
        assertEquals(code, e.wsaError(), what + ": read error, got " + e);
        CloseEvent ev = awaitClose(c, what);
        assertEquals(CloseEvent.Origin.PEER, ev.origin(), what + ": " + ev);
        assertEquals(code, ev.errorCode(), what + ": close event should be " + WsaError.name(code) + ", got " + ev);
        assertEquals("reset", endOf(raw), what + ": the wsdx side must reset the connection");
    }

    /**
     * docs/protocol.md section 3 ("When errors are seen"): a protocol error in bytes nobody has read is
     * reported at the latest when the peer's FIN makes the receiver drain everything before it, as
     * FD_CLOSE with the protocol error (not a graceful close), and the receiver resets the connection.
     */
    @Test
    void protocolErrorsAreReportedAtThePeersFinWithoutARead() throws Exception {
        byte[][] bad = {header(DATA, -1), header(DISCONNECT, -1), frame(DISCONNECT, new byte[4097]),
                frame(0x07, ascii("??")), concat(frame(DISCONNECT, ascii("bye")), new byte[] {1})};
        // the last: bytes after DISCONNECT (3.6): the DISCONNECT already ended the direction
        // gracefully (error 0); the bytes after it only make the receiver reset
        int[] codes = {WsaError.WSAEMSGSIZE, WsaError.WSAEMSGSIZE, WsaError.WSAEMSGSIZE,
                WsaError.WSAEPROTONOSUPPORT, 0};
        for (int i = 0; i < bad.length; i++) {
            byte[] b = bad[i];
            int code = codes[i];
            String what = "case " + i;
            withRawClient(Mode.STREAM, (server, h, raw, c) -> {
                raw.getOutputStream().write(b);
                raw.shutdownOutput();
                CloseEvent ev = awaitClose(c, what + " close event without a read");
                assertEquals(code, ev.errorCode(), what + ": " + ev);
                assertEquals("reset", endOf(raw), what + ": the hostile peer is reset");
            });
        }
    }

    // ------------------------------------------------------------------ peers that are not wsdx

    @Test
    void plainTcpClientsAreRejectedCountedAndOthersServed() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM); Healthy h = new Healthy(server)) {
            // 1. an HTTP client
            try (Socket s = rawConnect(server)) {
                s.getOutputStream().write(ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
                assertEquals("reset", endOf(s), "not-wsdx client must be reset");
            }
            awaitRejected(server, 1);
            // 2. a client that says nothing and closes (FIN before 8 bytes)
            try (Socket s = rawConnect(server)) {
                s.getOutputStream().write(ascii("WSD"));
                s.shutdownOutput();
                assertNotEquals("timeout", endOf(s));
            }
            awaitRejected(server, 2);
            // 3. a client that resets half-way through the preamble
            Socket s = rawConnect(server);
            s.getOutputStream().write(ascii("WSDX"));
            s.setSoLinger(true, 0);
            s.close();
            awaitRejected(server, 3);
            h.check("after three non-wsdx clients");
            assertEquals(3, server.rejectedCount(), "healthy connections are never counted as rejected");
            assertThrows(WsdxTimeoutException.class, () -> server.accept(Duration.ofMillis(100)),
                    "a rejected peer is never handed out by accept");
        }
    }

    /** A raw one-connection server: accepts, writes {@code bytes}, then reads what the client sends until it ends. */
    private static final class RawServer implements AutoCloseable {
        final ServerSocket ss;
        final CompletableFuture<String> end;
        final CompletableFuture<byte[]> clientPreamble = new CompletableFuture<>();

        RawServer(byte[] bytes) throws IOException {
            ss = new ServerSocket();
            ss.bind(new InetSocketAddress(HOST, 0));
            end = async("raw-server", () -> {
                try (Socket s = ss.accept()) {
                    s.setSoTimeout((int) WAIT.toMillis());
                    s.getOutputStream().write(bytes);
                    byte[] pre = new byte[8];
                    try {
                        new DataInputStream(s.getInputStream()).readFully(pre);
                        clientPreamble.complete(pre);
                    } catch (IOException e) {
                        clientPreamble.completeExceptionally(e);
                        return "early";
                    }
                    return endOf(s);
                }
            });
        }

        InetSocketAddress address() {
            return new InetSocketAddress(HOST, ss.getLocalPort());
        }

        @Override
        public void close() {
            closeQuietly(ss);
        }
    }

    /** A wsdx client connecting to a raw server that answers {@code bytes}: fails {@code code}, stays unconnected. */
    private static void assertClientRejects(byte[] serverBytes, Mode mode, int code, String what) throws Exception {
        try (Server healthyServer = Server.bind(ANY_PORT, mode); Healthy h = new Healthy(healthyServer)) {
            int handles = Wsdx.openHandles();
            try (RawServer raw = new RawServer(serverBytes)) {
                Connection c = Connection.open(mode);
                try {
                    WsdxProtocolException e = assertThrows(WsdxProtocolException.class,
                            () -> c.connect(raw.address(), WAIT), what);
                    assertEquals(code, e.wsaError(), what + ": " + e);
                    assertArrayEquals(preamble(mode), await(raw.clientPreamble, "client preamble"),
                            what + ": the client still sent its own preamble");
                    assertEquals("reset", await(raw.end, "raw server sees the end"),
                            what + ": the client resets a non-wsdx server");
                    assertFalse(c.isConnected(), what + ": socket stays unconnected");
                    assertTrue(c.isOpen(), what + ": socket stays open");
                    assertThrows(NotConnectedException.class, () -> c.write(ByteBuffer.wrap(ascii("x"))),
                            what + ": write on the unconnected socket");
                } finally {
                    c.close();
                }
            }
            // the convenience open(remote, mode) closes its socket when the handshake fails
            try (RawServer raw = new RawServer(serverBytes)) {
                WsdxProtocolException e = assertThrows(WsdxProtocolException.class,
                        () -> Connection.open(raw.address(), mode), what + " via open(remote, mode)");
                assertEquals(code, e.wsaError(), what + ": " + e);
            }
            long deadline = System.nanoTime() + 2_000_000_000L; // background closes may take a moment
            while (Wsdx.openHandles() != handles && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(handles, Wsdx.openHandles(), what + ": no native handle left behind by failed connects");
            h.check(what);
        }
    }

    @Test
    void wsdxClientToPlainServerFailsProtoNoSupport() throws Exception {
        assertClientRejects(ascii("HTTP/1.1 400 Bad Request\r\n\r\n"), Mode.STREAM, WsaError.WSAEPROTONOSUPPORT,
                "plain HTTP server");
        assertClientRejects(ascii("SSH-2.0-OpenSSH_9.6\r\n"), Mode.MESSAGE, WsaError.WSAEPROTONOSUPPORT,
                "plain SSH server");
    }

    @Test
    void wsdxClientToFutureVersionServerFailsVerNotSupported() throws Exception {
        assertClientRejects(preamble(2, 1), Mode.STREAM, WsaError.WSAVERNOTSUPPORTED, "WSDX v2 server");
        assertClientRejects(preamble(0xff, 2), Mode.MESSAGE, WsaError.WSAVERNOTSUPPORTED, "WSDX v255 server");
        // the version is checked before the mode (docs/protocol.md, order of checks)
        assertClientRejects(preamble(2, 2), Mode.STREAM, WsaError.WSAVERNOTSUPPORTED, "WSDX v2 server, other mode");
    }

    @Test
    void wsdxClientToWrongModeServerFailsProtoType() throws Exception {
        assertClientRejects(preamble(1, 2), Mode.STREAM, WsaError.WSAEPROTOTYPE, "message-mode server");
        assertClientRejects(preamble(1, 1), Mode.MESSAGE, WsaError.WSAEPROTOTYPE, "stream-mode server");
        assertClientRejects(preamble(1, 9), Mode.MESSAGE, WsaError.WSAEPROTOTYPE, "unknown-mode server");
    }

    @Test
    void serverRejectsFutureVersionAndWrongModeClients() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.MESSAGE); Healthy h = new Healthy(server)) {
            byte[][] bad = {preamble(2, 2), preamble(0, 2), preamble(1, 1), preamble(1, 0)};
            for (int i = 0; i < bad.length; i++) {
                try (Socket s = rawConnect(server)) {
                    s.getOutputStream().write(bad[i]);
                    // the server sends its preamble first, then resets
                    byte[] theirs = new byte[8];
                    new DataInputStream(s.getInputStream()).readFully(theirs);
                    assertArrayEquals(preamble(Mode.MESSAGE), theirs);
                    assertEquals("reset", endOf(s), "rejected client #" + i + " must be reset");
                }
                awaitRejected(server, i + 1);
            }
            h.check("after rejected v2 / wrong-mode clients");
        }
    }

    // ------------------------------------------------------------------ broken frames

    /** A raw client past the preamble on the server, accepted; the healthy pair was set up first. */
    private interface RawCase {
        void run(Server server, Healthy h, Socket raw, Connection c) throws Exception;
    }

    private static void withRawClient(Mode mode, RawCase body) throws Exception {
        try (Server server = Server.bind(ANY_PORT, mode); Healthy h = new Healthy(server);
                Socket raw = rawClient(server, mode)) {
            try (Connection c = server.accept(WAIT)) {
                body.run(server, h, raw, c);
            }
            h.check();
            assertEquals(0, server.rejectedCount(), "frame errors happen after accept; nothing counted as rejected");
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void dataFrameLengthOf4GiBMinusOneIsMsgSize(Mode mode) throws Exception {
        withRawClient(mode, (server, h, raw, c) -> {
            raw.getOutputStream().write(header(DATA, -1)); // length 0xFFFFFFFF
            assertBrokenByPeer(c, raw, WsaError.WSAEMSGSIZE, mode + " DATA length 2^32-1");
        });
    }

    /**
     * docs/protocol.md section 2.2, message mode: a message cut to a small buffer is harmless
     * ({@link MessageTooLargeException}, its first bytes stored, the connection goes on); a frame over the
     * limit is fatal ({@link WsdxProtocolException} with {@code WSAEMSGSIZE}, a {@code java.net.ProtocolException},
     * on every later read, and as the close event). The two must not look alike.
     */
    @Test
    void P8_cutMessageIsHarmlessOversizedFrameIsAProtocolError() throws Exception {
        withRawClient(Mode.MESSAGE, (server, h, raw, c) -> {
            raw.getOutputStream().write(concat(frame(DATA, ascii("hello")), frame(DATA, ascii("abc")),
                    header(DATA, Connection.MAX_MESSAGE + 1)));
            ByteBuffer small = ByteBuffer.allocate(2);
            MessageTooLargeException cut = assertThrows(MessageTooLargeException.class, () -> c.read(small, WAIT));
            assertEquals(WsaError.WSAEMSGSIZE, cut.wsaError());
            assertEquals(2, small.position(), "the cut message's first bytes are stored");
            assertArrayEquals(ascii("he"), small.array());
            ByteBuffer b = ByteBuffer.allocateDirect(16);
            assertEquals(3, c.read(b, WAIT), "the connection goes on after a cut message");
            for (int i = 0; i < 2; i++) {
                b.clear();
                WsdxProtocolException e = assertThrows(WsdxProtocolException.class, () -> c.read(b, WAIT),
                        "read " + i + " after the oversized frame");
                assertTrue(e instanceof java.net.ProtocolException, e.toString());
                assertEquals(WsaError.WSAEMSGSIZE, e.wsaError(), e.toString());
                assertEquals(0, b.position(), "nothing stored by the fatal error");
            }
            CloseEvent ev = awaitClose(c, "oversized frame");
            assertEquals(CloseEvent.Cause.PROTOCOL_ERROR, ev.cause(), ev.toString());
            assertEquals(WsaError.WSAEMSGSIZE, ev.errorCode(), ev.toString());
            assertEquals("reset", endOf(raw), "the receiver resets the connection");
        });
    }

    @Test
    void disconnectFrameLengthOf4GiBMinusOneIsMsgSize() throws Exception {
        withRawClient(Mode.STREAM, (server, h, raw, c) -> {
            raw.getOutputStream().write(header(DISCONNECT, -1));
            assertBrokenByPeer(c, raw, WsaError.WSAEMSGSIZE, "DISCONNECT length 2^32-1");
        });
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void disconnectFrameOver4096IsMsgSize(Mode mode) throws Exception {
        withRawClient(mode, (server, h, raw, c) -> {
            OutputStream out = raw.getOutputStream();
            out.write(frame(DATA, ascii("before")));
            out.write(frame(DISCONNECT, new byte[Connection.MAX_DISCONNECT_DATA + 1]));
            out.flush();
            raw.shutdownOutput(); // a FIN after the broken frame: the reported case of issue 11.2
            // the data before the broken frame is readable first (protocol.md section 3), then the error
            ByteBuffer b = ByteBuffer.allocate(64);
            int n = c.read(b, WAIT);
            assertEquals(6, n, "DATA before the broken frame");
            assertArrayEquals(ascii("before"), java.util.Arrays.copyOf(b.array(), 6));
            assertBrokenByPeer(c, raw, WsaError.WSAEMSGSIZE, mode + " 4097-byte DISCONNECT");
        });
    }

    @Test
    void disconnectFrameOfExactly4096IsAccepted() throws Exception {
        withRawClient(Mode.STREAM, (server, h, raw, c) -> {
            byte[] d = new byte[Connection.MAX_DISCONNECT_DATA];
            for (int i = 0; i < d.length; i++) d[i] = It.pat(i);
            raw.getOutputStream().write(frame(DISCONNECT, d));
            raw.shutdownOutput();
            CloseEvent ev = awaitClose(c, "server side");
            assertTrue(ev.isGraceful() && ev.hasDisconnectData(), "4096 bytes is the limit, allowed: " + ev);
            assertEquals(-1, c.read(ByteBuffer.allocate(16), WAIT));
            ByteBuffer got = c.receiveDisconnect();
            assertEquals(4096, got.remaining());
            assertArrayEquals(d, It.remaining(got));
        });
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void resetInTheMiddleOfAFrameIsConnReset(Mode mode) throws Exception {
        withRawClient(mode, (server, h, raw, c) -> {
            raw.getOutputStream().write(concat(frame(DATA, ascii("whole")), header(DATA, 100), new byte[10]));
            Thread.sleep(50); // let the bytes arrive before the RST
            raw.setSoLinger(true, 0);
            raw.close();
            CloseEvent ev = awaitClose(c, "server side");
            assertEquals(WsaError.WSAECONNRESET, ev.errorCode(), "RST mid-frame: " + ev);
            assertTrue(ev.isReset());
            // everything complete before the reset may be read; never the truncated message
            ByteBuffer b = ByteBuffer.allocate(256);
            ConnectionResetException e = assertThrows(ConnectionResetException.class, () -> {
                while (true) {
                    b.clear();
                    int n = c.read(b, WAIT);
                    if (n < 0) fail("end of stream instead of a reset");
                    if (mode == Mode.MESSAGE) {
                        assertEquals(5, n, "only the complete message may be delivered, never the truncated one");
                        assertArrayEquals(ascii("whole"), java.util.Arrays.copyOf(b.array(), n));
                    }
                }
            }, "read after a mid-frame reset");
            assertEquals(WsaError.WSAECONNRESET, e.wsaError());
        });
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void finInTheMiddleOfAFrameIsConnAborted(Mode mode) throws Exception {
        withRawClient(mode, (server, h, raw, c) -> {
            raw.getOutputStream().write(concat(frame(DATA, ascii("whole")), header(DATA, 100), new byte[10]));
            raw.shutdownOutput();
            CloseEvent ev = awaitClose(c, "server side");
            assertEquals(WsaError.WSAECONNABORTED, ev.errorCode(), "FIN mid-frame: " + ev);
            ConnectionAbortedException e = assertThrows(ConnectionAbortedException.class, () -> {
                ByteBuffer b = ByteBuffer.allocate(256);
                while (true) {
                    b.clear();
                    int n = c.read(b, WAIT);
                    if (n < 0) fail("end of stream instead of WSAECONNABORTED");
                    if (mode == Mode.MESSAGE) assertEquals(5, n, "never the truncated message");
                }
            }, "read after a mid-frame FIN");
            assertEquals(WsaError.WSAECONNABORTED, e.wsaError());
            assertEquals("reset", endOf(raw), "the connection is reset (docs/protocol.md section 3)");
        });
    }

    @Test
    void finInTheMiddleOfAHeaderIsConnAborted() throws Exception {
        withRawClient(Mode.STREAM, (server, h, raw, c) -> {
            raw.getOutputStream().write(new byte[] {DATA, 0, 0}); // 3 of 5 header bytes
            raw.shutdownOutput();
            assertBrokenByPeer(c, raw, WsaError.WSAECONNABORTED, "FIN mid-header");
        });
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void S2_4_bytesAfterDisconnectResetButTheEndStands(Mode mode) throws Exception {
        withRawClient(mode, (server, h, raw, c) -> {
            raw.getOutputStream().write(concat(frame(DISCONNECT, ascii("bye")), new byte[] {0x01}));
            // protocol.md 2 DISCONNECT / 3.6: the frame ended the direction gracefully; the byte after
            // it only makes the wsdx side reset the connection
            if (mode == Mode.STREAM) {
                assertEquals(-1, c.read(ByteBuffer.allocate(16), WAIT), "end of stream");
            } else {
                assertThrows(DisconnectedException.class, () -> c.read(ByteBuffer.allocate(16), WAIT));
            }
            CloseEvent ev = awaitClose(c, mode + " a byte after DISCONNECT");
            assertTrue(ev.isGraceful() && ev.hasDisconnectData(), ev.toString());
            assertArrayEquals(ascii("bye"), It.remaining(c.receiveDisconnect()), "complete disconnect data");
            assertEquals("reset", endOf(raw), "the wsdx side must reset the connection");
        });
    }

    // ------------------------------------------------------------------ slow handshakes

    @Test
    void preambleOneByteEvery200msWithinTheWindowIsAccepted() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM); Healthy h = new Healthy(server);
                Socket raw = rawConnect(server)) {
            long t0 = System.nanoTime();
            CompletableFuture<Void> dribble = It.asyncRun("dribbler", () -> {
                OutputStream out = raw.getOutputStream();
                for (byte b : preamble(Mode.STREAM)) {
                    out.write(b);
                    out.flush();
                    Thread.sleep(200);
                }
            });
            // other clients are served while the preamble trickles in
            h.check("while a preamble trickles in");
            try (Connection c = server.accept(WAIT)) {
                long ms = elapsedMs(t0);
                assertTrue(ms >= 1300, "accepted only once the 8th byte arrived (~1.4 s), took " + ms + " ms");
                await(dribble, "dribbler");
                byte[] theirs = new byte[8];
                new DataInputStream(raw.getInputStream()).readFully(theirs);
                assertArrayEquals(preamble(Mode.STREAM), theirs);
                // the slow peer is a real connection now
                raw.getOutputStream().write(frame(DATA, ascii("slow but fine")));
                assertArrayEquals(ascii("slow but fine"), It.readN(c, 13));
                c.sendDisconnect(ByteBuffer.wrap(ascii("ok")));
                Parsed p = parseFrames(raw);
                assertArrayEquals(ascii("ok"), p.disconnect);
                assertEquals("eof", p.end);
            }
            assertEquals(0, server.rejectedCount());
        }
    }

    @Tag("slow") // left out of PIT runs (the "mutation" profile): seconds each, run again per mutation unit
    @Test
    @Timeout(value = 25, unit = TimeUnit.SECONDS)
    void stalledPreamblesAreRejectedAfterTheHandshakeWindowWhileOthersAreServed() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.MESSAGE); Healthy h = new Healthy(server)) {
            long t0 = System.nanoTime();
            Socket silent = rawConnect(server); // sends nothing at all
            Socket partial = rawConnect(server); // sends 5 of 8 bytes, then stalls
            partial.getOutputStream().write(java.util.Arrays.copyOf(preamble(Mode.MESSAGE), 5));
            silent.setSoTimeout(12_000);
            partial.setSoTimeout(12_000);
            CompletableFuture<String> silentEnd = async("silent", () -> endOf(silent));
            CompletableFuture<String> partialEnd = async("partial", () -> endOf(partial));
            try {
                // meanwhile: several healthy clients come and go, each quickly
                for (int i = 0; i < 5; i++) {
                    long t = System.nanoTime();
                    h.check("healthy round " + i + " while two peers stall");
                    long ms = elapsedMs(t);
                    assertTrue(ms < 2000, "a healthy client waited " + ms + " ms behind stalled handshakes");
                    Thread.sleep(300);
                }
                assertEquals(0, server.rejectedCount(), "nobody rejected before the 10 s window");
                assertFalse(silentEnd.isDone() || partialEnd.isDone(), "stalled peers are still pending at ~2 s");
                String s1 = silentEnd.get(12, TimeUnit.SECONDS);
                String s2 = partialEnd.get(12, TimeUnit.SECONDS);
                long ms = elapsedMs(t0);
                assertNotEquals("timeout", s1, "silent peer ended");
                assertNotEquals("timeout", s2, "partial-preamble peer ended");
                assertTrue(ms >= 9_000 && ms <= 12_000, "rejected after the ~10 s handshake window, took " + ms + " ms");
                awaitRejected(server, 2);
                h.check("after the stalled peers were rejected");
                assertThrows(WsdxTimeoutException.class, () -> server.accept(Duration.ofMillis(50)),
                        "stalled peers are never handed out");
            } finally {
                closeQuietly(silent);
                closeQuietly(partial);
            }
        }
    }

    @Test
    void wsdxClientToSilentServerTimesOut() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 50, java.net.InetAddress.getByName(HOST))) {
            CompletableFuture<Socket> accepted = async("silent-server", ss::accept);
            try (Connection c = Connection.open(Mode.STREAM)) {
                long t0 = System.nanoTime();
                assertThrows(WsdxTimeoutException.class,
                        () -> c.connect(new InetSocketAddress(HOST, ss.getLocalPort()), Duration.ofMillis(700)));
                long ms = elapsedMs(t0);
                assertTrue(ms >= 600 && ms < 3000, "connect timeout honoured, took " + ms + " ms");
                assertFalse(c.isConnected());
            } finally {
                accepted.thenAccept(It::closeQuietly);
            }
        }
    }

    // ------------------------------------------------------------------ a peer that never reads

    /** A raw client with a tiny receive buffer that never reads; the wsdx side fills the pipe non-blocking. */
    private interface FullCase {
        void run(Connection c, Socket raw, long written) throws Exception;
    }

    private static void withFullPipe(FullCase body) throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM); Healthy h = new Healthy(server);
                Socket raw = rawClient(server, Mode.STREAM, 8192)) {
            Connection c = server.accept(WAIT);
            try {
                long written = It.writeUntilFull(c, 512L << 20);
                assertTrue(written > 0);
                body.run(c, raw, written);
            } finally {
                if (c.isOpen()) c.close(Linger.abortive());
            }
            h.check();
        }
    }

    @Test
    void neverReadingPeerDontLingerCloseReturnsAtOnceThenDataFlows() throws Exception {
        withFullPipe((c, raw, written) -> {
            long t0 = System.nanoTime();
            c.close(Linger.dontLinger());
            assertTrue(elapsedMs(t0) < 500, "SO_DONTLINGER close returns at once, took " + elapsedMs(t0) + " ms");
            assertFalse(c.isOpen());
            // S7: the queued data is still sent, then FIN
            Parsed p = parseFrames(raw);
            assertEquals("eof", p.end, "graceful end after the queued data");
            assertEquals(written, p.data.size(), "every byte queued before the close arrives");
            assertPattern(p.data.toByteArray(), 0, "queued data");
            assertNull(p.disconnect, "no DISCONNECT frame for a plain close");
        });
    }

    @Test
    void neverReadingPeerAbortiveCloseResetsIt() throws Exception {
        withFullPipe((c, raw, written) -> {
            long t0 = System.nanoTime();
            c.close(Linger.abortive());
            assertTrue(elapsedMs(t0) < 500, "abortive close returns at once, took " + elapsedMs(t0) + " ms");
            Parsed p = parseFrames(raw);
            assertEquals("reset", p.end, "raw peer sees a reset, got " + p.end + " after " + p.data.size() + " bytes");
            assertTrue(p.data.size() < written, "unsent data dropped");
        });
    }

    @Test
    void neverReadingPeerLingerTimeoutBlockingCloseResetsAfterTheTimeout() throws Exception {
        withFullPipe((c, raw, written) -> {
            c.configureBlocking(true);
            long t0 = System.nanoTime();
            c.close(Linger.timeout(Duration.ofSeconds(1)));
            long ms = elapsedMs(t0);
            assertTrue(ms >= 900 && ms < 3000, "SO_LINGER 1 s blocking close waits ~1 s, took " + ms + " ms");
            assertFalse(c.isOpen());
            Parsed p = parseFrames(raw);
            assertEquals("reset", p.end, "after the linger timeout the connection is reset");
        });
    }

    @Test
    void neverReadingPeerLingerTimeoutNonBlockingCloseWouldBlockAndStaysOpen() throws Exception {
        withFullPipe((c, raw, written) -> {
            assertFalse(c.isBlocking());
            c.setLinger(Linger.timeout(Duration.ofSeconds(1)));
            WouldBlockException e = assertThrows(WouldBlockException.class, c::closeSocket, "S10");
            assertEquals(WsaError.WSAEWOULDBLOCK, e.wsaError());
            assertTrue(c.isOpen() && c.isConnected(), "still open after WSAEWOULDBLOCK");
            assertFalse(c.closeFuture().isDone(), "no close event");
            // still usable: a (non-blocking) write is answered (taken, or WouldBlock), not refused.
            // The kernel may have made room since the pipe filled (late ACKs under load), so either is right.
            long more;
            try {
                more = c.write(It.patterned(written, 16));
            } catch (WouldBlockException full) {
                more = 0;
            }
            final long total = written + more;
            // now the peer reads: the data drains and a blocking close finishes gracefully
            CompletableFuture<Parsed> reader = async("raw-reader", () -> parseFrames(raw));
            c.configureBlocking(true);
            c.close(Linger.timeout(Duration.ofSeconds(5)));
            assertFalse(c.isOpen());
            Parsed p = await(reader, "raw peer reads everything");
            assertEquals("eof", p.end);
            assertEquals(total, p.data.size());
            assertPattern(p.data.toByteArray(), 0, "data after S10");
        });
    }

    // ------------------------------------------------------------------ a half-closing raw peer

    @ParameterizedTest
    @EnumSource(Mode.class)
    void rawPeerHalfClosesAndKeepsReading(Mode mode) throws Exception {
        withRawClient(mode, (server, h, raw, c) -> {
            raw.getOutputStream().write(frame(DATA, ascii("last words")));
            raw.shutdownOutput(); // FIN at a frame boundary, no DISCONNECT frame
            CloseEvent ev = awaitClose(c, "wsdx side");
            assertTrue(ev.isGraceful(), "FIN at a frame boundary is graceful: " + ev);
            assertFalse(ev.hasDisconnectData(), ev.toString());
            ByteBuffer b = ByteBuffer.allocate(64);
            assertEquals(10, c.read(b, WAIT));
            if (mode == Mode.STREAM) assertEquals(-1, c.read(ByteBuffer.allocate(8), WAIT), "R1");
            else assertThrows(DisconnectedException.class, () -> c.read(ByteBuffer.allocate(8), WAIT), "R2");
            // the wsdx side keeps sending, the raw peer keeps reading
            CompletableFuture<Parsed> reader = async("raw-reader", () -> parseFrames(raw));
            long total = 0;
            List<Integer> sizes = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                int n = 1 + (i * 7919) % 30_000;
                It.writeAll(c, It.patterned(total, n));
                sizes.add(n);
                total += n;
            }
            c.sendDisconnect(ByteBuffer.wrap(ascii("done")));
            assertEquals(0, c.receiveDisconnect().remaining(), "the raw peer sent no disconnect data");
            Parsed p = await(reader, "raw reader");
            assertEquals("eof", p.end);
            assertEquals(total, p.data.size(), "every byte sent after the peer's half-close arrives");
            assertPattern(p.data.toByteArray(), 0, "data after half-close");
            assertArrayEquals(ascii("done"), p.disconnect);
            if (mode == Mode.MESSAGE) assertEquals(sizes.size() + 1, p.frames, "one DATA frame per message");
        });
    }
}
