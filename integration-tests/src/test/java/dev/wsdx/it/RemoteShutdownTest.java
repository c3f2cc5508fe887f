package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.ConnectionAbortedException;
import dev.wsdx.ConnectionResetException;
import dev.wsdx.DisconnectedException;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import dev.wsdx.WsaError;
import dev.wsdx.WsdxException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Spec rows R1-R5: how a remote shutdown is indicated locally. */
class RemoteShutdownTest {

    private static final ExecutorService LISTENERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "it-listener");
        t.setDaemon(true);
        return t;
    });

    @AfterAll
    static void stopListeners() {
        LISTENERS.shutdownNow();
    }

    // ---------------------------------------------------------------- R1

    @Test
    void R1_streamPeerGracefulCloseEventThenDataThenEndOfStream() throws Exception {
        int n = 50_000;
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            Recorder rec = new Recorder();
            local.onClose(rec, LISTENERS);

            writePattern(peer, n);
            peer.close(); // SO_DONTLINGER: graceful

            CloseEvent ev = await(rec.first, "FD_CLOSE listener");
            assertGracefulPeerClose(ev, "local");
            assertFalse(ev.isReset());
            assertGracefulPeerClose(awaitClose(local, "local"), "local (closeFuture)");

            // recv returns 0 (-1 in Java) once the earlier data is read
            readPattern(local, 0, n);
            assertEquals(-1, local.read(ByteBuffer.allocate(16), WAIT), "end of stream after the data");
            assertEquals(-1, local.read(ByteBuffer.allocate(16), WAIT), "end of stream again");
            assertEquals(-1, local.read(ByteBuffer.allocate(16)), "end of stream (no timeout)");
        }
    }

    @Test
    void R1_streamPeerShutdownSendNonBlockingReader() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            local.configureBlocking(false);
            assertThrows(dev.wsdx.WouldBlockException.class, () -> local.read(ByteBuffer.allocate(16)),
                    "non-blocking read with nothing ready: the one nothing-available signal");
            writeAll(peer, buf("tail"));
            peer.shutdownOutput();
            assertGracefulPeerClose(awaitClose(local, "local"), "local");
            ByteBuffer b = ByteBuffer.allocate(16);
            assertEquals(4, local.read(b), "the data that preceded the FIN");
            assertArrayEquals(bytes("tail"), java.util.Arrays.copyOf(b.array(), 4));
            assertEquals(-1, local.read(ByteBuffer.allocate(16)), "then end of stream, also non-blocking");
        }
    }

    // ---------------------------------------------------------------- R2

    @Test
    void R2_messagePeerGracefulCloseKeepsBoundariesThenDisconnected() throws Exception {
        byte[][] msgs = {bytes("alpha"), bytes("be"), new byte[1000], new byte[70_000], bytes("z")};
        for (int i = 0; i < msgs[2].length; i++) msgs[2][i] = pat(i);
        for (int i = 0; i < msgs[3].length; i++) msgs[3][i] = pat(i * 7L);
        try (Pair p = pair(Mode.MESSAGE)) {
            Connection local = p.client, peer = p.accepted;
            Recorder rec = new Recorder();
            local.onClose(rec, LISTENERS);
            CompletableFuture<Void> writer = asyncRun("r2-writer", () -> {
                for (byte[] m : msgs) writeAll(peer, ByteBuffer.wrap(m));
                peer.close();
            });
            for (int i = 0; i < msgs.length; i++) {
                assertArrayEquals(msgs[i], readMessage(local), "message " + i + " with its boundary");
            }
            await(writer, "peer writes + close");
            assertGracefulPeerClose(await(rec.first, "FD_CLOSE listener"), "local");

            DisconnectedException d = assertThrows(DisconnectedException.class,
                    () -> local.read(ByteBuffer.allocate(256 * 1024), WAIT), "message-mode read after graceful close");
            assertWsa(WsaError.WSAEDISCON, d);
            assertWsaThrows(DisconnectedException.class, WsaError.WSAEDISCON,
                    () -> local.read(ByteBuffer.allocate(16), WAIT), "and again");
            assertEquals(1, rec.count());
        }
    }

    @Test
    void R2_messagesQueuedBeforeCloseAllReadableAfterEvent() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            Connection local = p.client, peer = p.accepted;
            for (int i = 0; i < 10; i++) writeAll(peer, buf("msg-" + i));
            peer.close();
            assertGracefulPeerClose(awaitClose(local, "local"), "local");
            for (int i = 0; i < 10; i++) assertArrayEquals(bytes("msg-" + i), readMessage(local));
            assertWsaThrows(DisconnectedException.class, WsaError.WSAEDISCON,
                    () -> local.read(ByteBuffer.allocate(16), WAIT), "read after all messages");
        }
    }

    @Test
    void R2_emptyMessageIsAMessage() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            Connection local = p.client, peer = p.accepted;
            writeAll(peer, buf("before"));
            peer.write(ByteBuffer.allocate(0));
            writeAll(peer, buf("after"));
            peer.close();
            assertArrayEquals(bytes("before"), readMessage(local));
            assertArrayEquals(new byte[0], readMessage(local), "an empty DATA frame is an empty message");
            assertArrayEquals(bytes("after"), readMessage(local));
            assertWsaThrows(DisconnectedException.class, WsaError.WSAEDISCON,
                    () -> local.read(ByteBuffer.allocate(16), WAIT), "read after all messages");
        }
    }

    // ---------------------------------------------------------------- R3

    @Test
    void R3_peerAbortiveCloseReportsResetToEventAndRecv() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            Recorder rec = new Recorder();
            local.onClose(rec, LISTENERS);
            writeAll(peer, patterned(0, 10_000)); // unread data is discarded by the reset
            peer.close(Linger.abortive());

            CloseEvent ev = await(rec.first, "FD_CLOSE listener");
            assertEquals(CloseEvent.Origin.PEER, ev.origin(), "origin of " + ev);
            assertEquals(WsaError.WSAECONNRESET, ev.errorCode(), "FD_CLOSE error: " + ev);
            assertTrue(ev.isReset());
            assertFalse(ev.isGraceful());
            assertEquals(ev.errorCode(), awaitClose(local, "local").errorCode(), "closeFuture agrees with the listener");

            ConnectionResetException e = assertThrows(ConnectionResetException.class,
                    () -> local.read(ByteBuffer.allocate(64 * 1024), WAIT), "recv after the peer's reset");
            assertWsa(WsaError.WSAECONNRESET, e);
            assertThrows(ConnectionResetException.class, () -> local.read(ByteBuffer.allocate(16), WAIT), "recv keeps failing");
            Thread.sleep(QUIET.toMillis());
            assertEquals(1, rec.count(), "one FD_CLOSE");
        }
    }

    @Test
    void R3_messageModePeerResetWhileLocalBlockedInRead() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            Connection local = p.client, peer = p.accepted;
            CompletableFuture<Integer> reader = async("r3-reader", () -> local.read(ByteBuffer.allocate(64), WAIT));
            Thread.sleep(200);
            peer.setLinger(Linger.abortive());
            peer.close();
            try {
                Integer r = await(reader, "blocked read to fail");
                fail("blocked read returned " + r + " after the peer's reset");
            } catch (ConnectionResetException e) {
                assertWsa(WsaError.WSAECONNRESET, e);
            }
            assertEquals(WsaError.WSAECONNRESET, awaitClose(local, "local").errorCode());
        }
    }

    // ---------------------------------------------------------------- R4

    @Test
    void R4_abortTimeoutWithUnackedDataReportsConnAborted() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            Recorder rec = new Recorder();
            local.onClose(rec, LISTENERS);
            local.setAbortTimeout(Duration.ofSeconds(1));
            writeUntilFull(local, 512L * 1024 * 1024); // the peer never reads: zero window, probes only

            CloseEvent ev;
            try {
                ev = rec.first.get(20, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("no FD_CLOSE within 20 s although the abort timeout is 1 s");
            }
            assertEquals(WsaError.WSAECONNABORTED, ev.errorCode(), "FD_CLOSE error for a lost connection: " + ev);
            assertFalse(ev.isGraceful());
            assertEquals(WsaError.WSAECONNABORTED, awaitClose(local, "local").errorCode());

            local.configureBlocking(true);
            WsdxException r = assertThrows(WsdxException.class, () -> local.read(ByteBuffer.allocate(16), WAIT));
            assertTrue(r instanceof ConnectionAbortedException, "recv after the abort: " + r);
            assertWsa(WsaError.WSAECONNABORTED, r);
            Thread.sleep(QUIET.toMillis());
            assertEquals(1, rec.count(), "one FD_CLOSE");
            peer.close(Linger.abortive());
        }
    }

    // ---------------------------------------------------------------- R5

    @Test
    void R5_closeEventOnceAfterAllData() throws Exception {
        int n = 64 * 1024;
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            Recorder early = new Recorder();
            Recorder direct = new Recorder();
            local.onClose(early, LISTENERS);
            local.onClose(direct, Runnable::run);

            CompletableFuture<Void> writer = asyncRun("r5-writer", () -> {
                writePattern(peer, n);
                peer.close();
            });
            CloseEvent ev = await(early.first, "FD_CLOSE");
            await(writer, "peer writes and closes");
            assertGracefulPeerClose(ev, "local");
            await(direct.first, "second listener");

            // after the event: every byte that preceded the close is readable, then end of stream
            readPattern(local, 0, n);
            assertEquals(-1, local.read(ByteBuffer.allocate(16), WAIT));

            // a listener registered after the event still gets exactly one call
            Recorder late = new Recorder();
            local.onClose(late, LISTENERS);
            CloseEvent lateEv = await(late.first, "late-registered listener");
            assertEquals(ev.errorCode(), lateEv.errorCode());
            assertEquals(ev.origin(), lateEv.origin());

            // closing locally now must not produce another event
            local.close();
            Thread.sleep(QUIET.toMillis());
            assertEquals(1, early.count(), "FD_CLOSE delivered once: " + early.events);
            assertEquals(1, direct.count(), "FD_CLOSE delivered once: " + direct.events);
            assertEquals(1, late.count(), "late listener called once: " + late.events);
            assertGracefulPeerClose(local.closeFuture().getNow(null), "closeFuture keeps the peer event");
        }
    }

    @Test
    void R5_messageModeEventAfterAllMessagesOnce() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            Connection local = p.client, peer = p.accepted;
            Recorder rec = new Recorder();
            local.onClose(rec, LISTENERS);
            for (int i = 0; i < 50; i++) writeAll(peer, buf("m" + i));
            peer.sendDisconnect(buf("done"));
            assertGracefulPeerClose(await(rec.first, "FD_CLOSE"), "local");
            for (int i = 0; i < 50; i++) assertArrayEquals(bytes("m" + i), readMessage(local), "message " + i);
            assertWsaThrows(DisconnectedException.class, WsaError.WSAEDISCON,
                    () -> local.read(ByteBuffer.allocate(16), WAIT), "after the last message");
            assertArrayEquals(bytes("done"), remaining(local.receiveDisconnect()));
            peer.close();
            Thread.sleep(QUIET.toMillis());
            assertEquals(1, rec.count(), "FD_CLOSE delivered once (the peer's later close adds nothing): " + rec.events);
        }
    }

    @Test
    void R5_resetAfterGracefulCloseDoesNotRaiseSecondEvent() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            Recorder rec = new Recorder();
            local.onClose(rec, LISTENERS);
            peer.shutdownOutput();
            assertGracefulPeerClose(await(rec.first, "FD_CLOSE"), "local");
            peer.close(Linger.abortive()); // an RST after the FIN: the first ending wins
            Thread.sleep(QUIET.toMillis());
            assertEquals(1, rec.count(), "one FD_CLOSE per connection: " + rec.events);
        }
    }
}
