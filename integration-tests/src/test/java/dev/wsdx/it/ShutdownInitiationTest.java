package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.DisconnectedException;
import dev.wsdx.Mode;
import dev.wsdx.NotConnectedException;
import dev.wsdx.Server;
import dev.wsdx.ShutdownException;
import dev.wsdx.WsaError;
import dev.wsdx.WsdxException;
import dev.wsdx.WsdxTimeoutException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Spec rows S1-S6: initiating a shutdown with WSPShutdown / WSPSendDisconnect. */
class ShutdownInitiationTest {

    private static final long BULK = 300 * 1024; // more than one socket buffer's worth of frames

    // ---------------------------------------------------------------- S1

    @Test
    void S1_shutdownSendDeliversAllDataThenGracefulClose() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            CompletableFuture<Void> writer = asyncRun("s1-writer", () -> {
                writePattern(local, BULK);
                local.shutdown(Connection.SD_SEND);
            });
            // peer: everything sent before the shutdown arrives, in order, then recv returns 0 (-1 here)
            readPattern(peer, 0, BULK);
            await(writer, "writer + shutdown(SD_SEND)");
            assertEquals(-1, peer.read(ByteBuffer.allocate(16), WAIT), "peer read after all data: end of stream");
            assertEquals(-1, peer.read(ByteBuffer.allocate(16), WAIT), "end of stream is sticky");
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");

            // local: later sends fail WSAESHUTDOWN
            assertWsaThrows(ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> local.write(buf("late")), "local write after SD_SEND");
            // local: receiving goes on
            writeAll(peer, buf("still-receiving"));
            assertArrayEquals(bytes("still-receiving"), readN(local, 15), "local still receives after SD_SEND");
            assertTrue(local.isOpen(), "shutdown does not close the socket");
            assertFalse(local.closeFuture().isDone(), "local has seen no close from the peer yet");
        }
    }

    @Test
    void S1_shutdownOutputMessageModePeerSeesDisconnected() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            Connection local = p.client, peer = p.accepted;
            writeAll(local, buf("m1"));
            writeAll(local, buf("m2"));
            local.shutdownOutput();
            assertArrayEquals(bytes("m1"), readMessage(peer));
            assertArrayEquals(bytes("m2"), readMessage(peer));
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
            DisconnectedException d = assertThrows(DisconnectedException.class,
                    () -> peer.read(ByteBuffer.allocate(64), WAIT), "message-mode peer read after FIN");
            assertWsa(WsaError.WSAEDISCON, d);
            assertWsaThrows(ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> local.write(buf("late")), "local write after shutdownOutput");
        }
    }

    // ---------------------------------------------------------------- S2

    @Test
    void S2_shutdownReceiveFailsReceivesSendingGoesOnPeerSeesNothing() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            local.shutdown(Connection.SD_RECEIVE);

            // local: later receives fail WSAESHUTDOWN (also when the peer does send something)
            assertWsaThrows(ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> local.read(ByteBuffer.allocate(16), WAIT), "local read after SD_RECEIVE");
            // peer: nothing immediately - no close event, no end of stream
            assertStaysPending(peer.closeFuture(), "peer close event after the other side's SD_RECEIVE");
            assertThrows(WsdxTimeoutException.class, () -> peer.read(ByteBuffer.allocate(16), QUIET),
                    "peer read after SD_RECEIVE must just wait (no EOF, no reset)");

            // local: sending goes on
            writePattern(local, 10_000);
            readPattern(peer, 0, 10_000);
            assertFalse(peer.closeFuture().isDone(), "peer still sees no close");
            assertWsaThrows(ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> local.read(ByteBuffer.allocate(16), WAIT), "local read still fails");
        }
    }

    @Test
    void S2_shutdownInputConvenienceIsSdReceive() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            p.client.shutdownInput();
            assertWsaThrows(ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> p.client.read(ByteBuffer.allocate(16), WAIT), "read after shutdownInput");
            writeAll(p.client, buf("out"));
            assertArrayEquals(bytes("out"), readMessage(p.accepted));
            assertStaysPending(p.accepted.closeFuture(), "peer close event");
        }
    }

    // ---------------------------------------------------------------- S3

    @Test
    void S3_shutdownBothFailsBothDirectionsPeerSeesGracefulClose() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            CompletableFuture<Void> writer = asyncRun("s3-writer", () -> {
                writePattern(local, BULK);
                local.shutdown(Connection.SD_BOTH);
            });
            readPattern(peer, 0, BULK);
            await(writer, "writer + shutdown(SD_BOTH)");
            assertEquals(-1, peer.read(ByteBuffer.allocate(16), WAIT), "peer: end of stream");
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");

            assertWsaThrows(ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> local.write(buf("x")), "local write after SD_BOTH");
            assertWsaThrows(ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> local.read(ByteBuffer.allocate(16), WAIT), "local read after SD_BOTH");
            assertTrue(local.isOpen());
        }
    }

    // ---------------------------------------------------------------- S4

    @Test
    void S4_badHowFailsEinvalAndChangesNothing() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            for (int how : new int[] {7, -1, 3, Integer.MAX_VALUE}) {
                WsdxException e = assertThrows(WsdxException.class, () -> local.shutdown(how), "shutdown(" + how + ")");
                assertWsa(WsaError.WSAEINVAL, e);
            }
            // peer: nothing
            assertStaysPending(peer.closeFuture(), "peer close event after a rejected shutdown");
            // state unchanged: both directions still work
            writeAll(local, buf("ping"));
            assertArrayEquals(bytes("ping"), readN(peer, 4));
            writeAll(peer, buf("pong"));
            assertArrayEquals(bytes("pong"), readN(local, 4));
            assertTrue(local.isOpen() && local.isConnected());
            // and a valid shutdown afterwards still behaves as S1
            local.shutdownOutput();
            assertEquals(-1, peer.read(ByteBuffer.allocate(4), WAIT));
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
        }
    }

    @Test
    void S4_shutdownOnUnconnectedSocketFailsNotConnAndChangesNothing() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM);
                Connection c = Connection.open(Mode.STREAM)) {
            assertFalse(c.isConnected());
            for (int how : new int[] {Connection.SD_RECEIVE, Connection.SD_SEND, Connection.SD_BOTH}) {
                assertWsaThrows(NotConnectedException.class, WsaError.WSAENOTCONN,
                        () -> c.shutdown(how), "shutdown(" + how + ") on an unconnected socket");
            }
            assertWsaThrows(NotConnectedException.class, WsaError.WSAENOTCONN,
                    c::shutdownOutput, "shutdownOutput on an unconnected socket");
            assertWsaThrows(NotConnectedException.class, WsaError.WSAENOTCONN,
                    c::shutdownInput, "shutdownInput on an unconnected socket");
            assertTrue(c.isOpen(), "still open");
            assertFalse(c.isConnected(), "still unconnected");

            // state unchanged: the socket can still connect and exchange data both ways
            InetSocketAddress a = addr(server);
            CompletableFuture<Connection> acc = async("s4-accept", () -> server.accept(WAIT));
            c.connect(a, WAIT);
            try (Connection peer = await(acc, "accept")) {
                writeAll(c, buf("hello"));
                assertArrayEquals(bytes("hello"), readN(peer, 5));
                writeAll(peer, buf("back"));
                assertArrayEquals(bytes("back"), readN(c, 4));
            }
        }
    }

    // ---------------------------------------------------------------- S5

    @Test
    void S5_sendDisconnectDeliversExactBytesAfterData() throws Exception {
        byte[] disc = new byte[777];
        for (int i = 0; i < disc.length; i++) disc[i] = (byte) (255 - i % 256);
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            writePattern(local, 5000);
            local.sendDisconnect(ByteBuffer.wrap(disc));

            // local: like SD_SEND - no more sends, receiving goes on
            assertWsaThrows(ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> local.write(buf("late")), "local write after sendDisconnect");
            writeAll(peer, buf("reply"));
            assertArrayEquals(bytes("reply"), readN(local, 5), "local still receives after sendDisconnect");

            // peer: FD_CLOSE error 0, data first, then WSPRecvDisconnect returns exactly those bytes
            CloseEvent ev = awaitClose(peer, "peer");
            assertGracefulPeerClose(ev, "peer");
            assertTrue(ev.hasDisconnectData(), "close event should flag disconnect data: " + ev);
            readPattern(peer, 0, 5000);
            assertEquals(-1, peer.read(ByteBuffer.allocate(8), WAIT), "peer: end of stream after data");
            assertArrayEquals(disc, remaining(peer.receiveDisconnect()), "peer's disconnect data");
        }
    }

    @Test
    void S5_sendDisconnectMessageModeIntoCallerBuffer() throws Exception {
        byte[] disc = bytes("goodbye, and thanks for all the fish");
        try (Pair p = pair(Mode.MESSAGE)) {
            Connection local = p.client, peer = p.accepted;
            writeAll(local, buf("last message"));
            local.sendDisconnect(ByteBuffer.wrap(disc));
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
            assertArrayEquals(bytes("last message"), readMessage(peer));
            assertWsaThrows(DisconnectedException.class, WsaError.WSAEDISCON,
                    () -> peer.read(ByteBuffer.allocate(64), WAIT), "peer read after the last message");
            ByteBuffer dst = ByteBuffer.allocate(Connection.MAX_DISCONNECT_DATA);
            int n = peer.receiveDisconnect(dst);
            assertEquals(disc.length, n, "receiveDisconnect length");
            assertArrayEquals(disc, java.util.Arrays.copyOf(dst.array(), n), "receiveDisconnect bytes");
        }
    }

    @Test
    void S5_maximumSizeDisconnectData() throws Exception {
        byte[] disc = new byte[Connection.MAX_DISCONNECT_DATA];
        for (int i = 0; i < disc.length; i++) disc[i] = pat(i);
        try (Pair p = pair(Mode.STREAM)) {
            p.client.sendDisconnect(ByteBuffer.wrap(disc));
            assertGracefulPeerClose(awaitClose(p.accepted, "peer"), "peer");
            assertArrayEquals(disc, remaining(p.accepted.receiveDisconnect()));
        }
    }

    // ---------------------------------------------------------------- S6

    @Test
    void S6_sendDisconnectWithoutDataPeerGetsZeroBytes() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            writeAll(local, buf("abc"));
            local.sendDisconnect(null);
            assertWsaThrows(ShutdownException.class, WsaError.WSAESHUTDOWN,
                    () -> local.write(buf("late")), "local write after sendDisconnect(null)");
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
            assertArrayEquals(bytes("abc"), readN(peer, 3));
            assertEquals(-1, peer.read(ByteBuffer.allocate(8), WAIT));
            assertEquals(0, peer.receiveDisconnect().remaining(), "no disconnect data");
            // receiving still works on the side that disconnected
            writeAll(peer, buf("z"));
            assertArrayEquals(bytes("z"), readN(local, 1));
        }
    }

    @Test
    void S6_plainShutdownSendMeansZeroLengthDisconnectData() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            p.client.shutdownOutput();
            assertGracefulPeerClose(awaitClose(p.accepted, "peer"), "peer");
            ByteBuffer dst = ByteBuffer.allocate(16);
            assertEquals(0, p.accepted.receiveDisconnect(dst), "FIN alone = disconnect data of length 0");
        }
    }

    @Test
    void S6_receiveDisconnectBeforePeerClosedReturnsNothing() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            assertEquals(0, p.accepted.receiveDisconnect().remaining(), "no close yet: 0 bytes");
        }
    }
}
