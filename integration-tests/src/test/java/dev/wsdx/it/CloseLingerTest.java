package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.ConnectionResetException;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.SocketClosedException;
import dev.wsdx.WouldBlockException;
import dev.wsdx.WsaError;
import dev.wsdx.WsdxException;
import dev.wsdx.WsdxTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Spec rows S7-S11: WSPCloseSocket under SO_DONTLINGER / SO_LINGER, and calls on a closed socket. */
class CloseLingerTest {

    /** Cap for writeUntilFull: far above any socket buffer; reaching it means no back-pressure. */
    private static final long FILL_LIMIT = 512L * 1024 * 1024;

    // ---------------------------------------------------------------- S7

    @Test
    void S7_dontLingerCloseReturnsAtOnceQueuedDataStillDelivered() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            assertEquals(Linger.dontLinger(), local.linger(), "SO_DONTLINGER is the default");
            long queued = writeUntilFull(local, FILL_LIMIT); // the peer is not reading: data stays queued
            local.configureBlocking(true); // even a blocking socket must not wait under SO_DONTLINGER

            // returns at once: the peer does not read until close has returned, so a close that
            // waited for delivery would never return here
            await(asyncRun("s7-close", local::close), "close() under SO_DONTLINGER while the peer is not reading");
            assertFalse(local.isOpen());

            // peer: all data, then a graceful close
            assertEquals(queued, drainPatternToEnd(peer), "peer must receive every queued byte");
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
        }
    }

    @Test
    void S7_explicitDontLingerOnNonBlockingSocket() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            local.setLinger(Linger.timeout(Duration.ofSeconds(30)));
            long queued = writeUntilFull(local, FILL_LIMIT); // leaves local non-blocking
            await(asyncRun("s7-close", () -> local.close(Linger.dontLinger())), "close(dontLinger)");
            assertFalse(local.isOpen());
            assertEquals(queued, drainPatternToEnd(peer));
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
        }
    }

    // ---------------------------------------------------------------- S8

    @Test
    void S8_abortiveCloseResetsPeer() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            long queued = writeUntilFull(local, FILL_LIMIT);
            local.configureBlocking(true);
            await(asyncRun("s8-close", () -> local.close(Linger.abortive())), "abortive close returns at once");
            assertFalse(local.isOpen());

            CloseEvent ev = awaitClose(peer, "peer");
            assertEquals(CloseEvent.Origin.PEER, ev.origin(), "origin of " + ev);
            assertEquals(WsaError.WSAECONNRESET, ev.errorCode(), "peer close event must be a reset: " + ev);
            assertTrue(ev.isReset());
            assertFalse(ev.isGraceful());

            long got = 0;
            ByteBuffer b = ByteBuffer.allocate(64 * 1024);
            ConnectionResetException reset = null;
            while (reset == null) {
                b.clear();
                try {
                    int r = peer.read(b, WAIT);
                    assertTrue(r >= 0, "peer read returned end of stream (" + r + ") after an abortive close");
                    got += r;
                } catch (ConnectionResetException e) {
                    reset = e;
                }
            }
            assertWsa(WsaError.WSAECONNRESET, reset);
            assertTrue(got < queued, "unsent data must be dropped; peer got " + got + " of " + queued);
            // recv keeps failing
            assertThrows(ConnectionResetException.class, () -> peer.read(ByteBuffer.allocate(8), WAIT));
        }
    }

    @Test
    void S8_configuredAbortiveLingerResetsPeerOnPlainClose() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            Connection local = p.client, peer = p.accepted;
            local.setLinger(Linger.abortive());
            assertEquals(Linger.abortive(), local.linger());
            assertTrue(local.linger().isOn());
            assertEquals(0, local.linger().seconds());
            local.close();
            CloseEvent ev = awaitClose(peer, "peer");
            assertEquals(WsaError.WSAECONNRESET, ev.errorCode(), "peer close event must be a reset: " + ev);
            assertWsaThrows(ConnectionResetException.class, WsaError.WSAECONNRESET,
                    () -> peer.read(ByteBuffer.allocate(8), WAIT), "peer read after reset");
        }
    }

    // ---------------------------------------------------------------- S9

    @Test
    void S9_lingerTimeoutBlockingCloseWaitsForDeliveryThenGraceful() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            long queued = writeUntilFull(local, FILL_LIMIT);
            local.configureBlocking(true);

            AtomicLong readSoFar = new AtomicLong();
            CompletableFuture<Long> reader = async("s9a-reader", () -> {
                Thread.sleep(300); // let close start first: it has to wait for this reader
                ByteBuffer b = ByteBuffer.allocate(64 * 1024);
                long off = 0;
                while (true) {
                    b.clear();
                    int r = peer.read(b, WAIT);
                    if (r < 0) return off;
                    b.flip();
                    for (int i = 0; i < r; i++, off++) {
                        if (b.get() != pat(off)) throw new AssertionError("bad byte at " + off);
                    }
                    readSoFar.set(off);
                }
            });

            long t0 = System.nanoTime();
            local.close(Linger.timeout(Duration.ofSeconds(2)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            long readAtReturn = readSoFar.get();

            assertFalse(local.isOpen());
            assertTrue(readAtReturn > 0, "close returned before the peer read anything: it did not wait for delivery");
            assertTrue(ms < 1900, "close should return once the data is delivered, well before the 2 s linger; took " + ms + " ms");
            assertEquals(queued, (long) await(reader, "peer reads everything"), "peer must get every byte");
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
        }
    }

    @Test
    void S9_lingerTimeoutExpiresThenReset() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            long queued = writeUntilFull(local, FILL_LIMIT); // the peer never reads
            local.configureBlocking(true);

            long t0 = System.nanoTime();
            local.close(Linger.timeout(Duration.ofSeconds(2)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertFalse(local.isOpen());
            assertTrue(ms >= 1500, "close must block for the 2 s linger when nothing can be delivered; took " + ms + " ms");
            assertTrue(ms < 8000, "close must give up after the 2 s linger; took " + ms + " ms");

            CloseEvent ev = awaitClose(peer, "peer");
            assertEquals(WsaError.WSAECONNRESET, ev.errorCode(), "after the linger ran out the peer sees a reset: " + ev);

            long got = 0;
            ByteBuffer b = ByteBuffer.allocate(64 * 1024);
            while (true) {
                b.clear();
                int r;
                try {
                    r = peer.read(b, WAIT);
                } catch (ConnectionResetException e) {
                    assertWsa(WsaError.WSAECONNRESET, e);
                    break;
                }
                assertTrue(r >= 0, "peer saw a graceful end of stream after " + got + " bytes; expected a reset");
                got += r;
            }
            assertTrue(got < queued, "a reset cannot have delivered everything: " + got + " of " + queued);
        }
    }

    // ---------------------------------------------------------------- S10

    @Test
    void S10_nonBlockingLingerCloseWithQueuedDataWouldBlockAndStaysUsable() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            long queued = writeUntilFull(local, FILL_LIMIT); // non-blocking now, data queued
            assertFalse(local.isBlocking());

            local.setLinger(Linger.timeout(Duration.ofSeconds(5)));
            WouldBlockException wb = assertThrows(WouldBlockException.class, local::closeSocket,
                    "non-blocking closeSocket with linger n>0 and data queued");
            assertWsa(WsaError.WSAEWOULDBLOCK, wb);
            assertTrue(local.isOpen(), "socket stays open");
            assertTrue(local.isConnected(), "socket stays connected");
            // peer: nothing
            assertStaysPending(peer.closeFuture(), "peer close event after a WSAEWOULDBLOCK close");

            // still usable in both directions
            readPattern(peer, 0, queued);
            local.configureBlocking(true);
            writeAll(local, patterned(queued, 1000));
            readPattern(peer, queued, 1000);
            writeAll(peer, buf("ack"));
            assertArrayEquals(bytes("ack"), readN(local, 3));

            local.close();
            assertFalse(local.isOpen());
            assertEquals(-1, peer.read(ByteBuffer.allocate(8), WAIT), "peer: graceful end of stream");
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
        }
    }

    /**
     * Issue 10.4: {@code close()} (AutoCloseable) always releases the handle. Where Winsock's close
     * would fail WSAEWOULDBLOCK (S10) it closes in the background instead: the queued data still
     * reaches the peer, then a graceful close.
     */
    @Test
    void S10_closeAlwaysReleasesTheHandleEvenWhenALingerCloseWouldBlock() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            int before = dev.wsdx.Wsdx.openHandles();
            local.setLinger(Linger.timeout(Duration.ofSeconds(5)));
            long queued = writeUntilFull(local, FILL_LIMIT); // non-blocking, data queued
            try (Connection c = local) { // try-with-resources: must not throw, must release
                assertTrue(c.isOpen());
            }
            assertFalse(local.isOpen(), "released");
            assertEquals(CloseEvent.Origin.LOCAL, awaitClose(local, "local").origin());
            assertThrows(SocketClosedException.class, () -> local.write(buf("x")), "S11 at once");
            readPattern(peer, 0, queued); // nothing queued was lost
            assertEquals(-1, peer.read(ByteBuffer.allocate(8), WAIT), "then a graceful end of stream");
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
            // the background close ends once the data is out: the handle goes
            long until = System.nanoTime() + WAIT.toNanos();
            while (dev.wsdx.Wsdx.openHandles() > before - 1 && System.nanoTime() < until) Thread.sleep(5);
            // <=: a socket closed before 'before' was read may be freed meanwhile too (Wsdx.openHandles)
            assertTrue(dev.wsdx.Wsdx.openHandles() <= before - 1, "the handle is gone");
        }
    }

    @Test
    void S10_configuredLingerNonBlockingCloseRetriedAfterDrainSucceedsGracefully() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            local.setLinger(Linger.timeout(Duration.ofSeconds(5)));
            long queued = writeUntilFull(local, FILL_LIMIT);
            assertWsaThrows(WouldBlockException.class, WsaError.WSAEWOULDBLOCK, local::closeSocket,
                    "closeSocket() with configured linger 5 s, non-blocking, data queued");
            assertTrue(local.isOpen());

            readPattern(peer, 0, queued);
            // Winsock style: the application retries close until the queue has drained
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (true) {
                try {
                    local.closeSocket();
                    break;
                } catch (WouldBlockException e) {
                    assertTrue(System.nanoTime() < deadline, "close kept failing WSAEWOULDBLOCK after the peer read everything");
                    Thread.sleep(20);
                }
            }
            assertFalse(local.isOpen());
            assertEquals(-1, peer.read(ByteBuffer.allocate(8), WAIT));
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
        }
    }

    // ---------------------------------------------------------------- S11

    @Test
    void S11_everyCallOnClosedConnectionFailsNotSock() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            local.close();
            assertFalse(local.isOpen());

            List<Executable> checks = new ArrayList<>();
            addNotSock(checks, "write", () -> local.write(buf("x")));
            addNotSock(checks, "read", () -> local.read(ByteBuffer.allocate(8)));
            addNotSock(checks, "read(timeout)", () -> local.read(ByteBuffer.allocate(8), WAIT));
            addNotSock(checks, "shutdown(SD_SEND)", () -> local.shutdown(Connection.SD_SEND));
            addNotSock(checks, "shutdown(SD_RECEIVE)", () -> local.shutdown(Connection.SD_RECEIVE));
            addNotSock(checks, "shutdown(SD_BOTH)", () -> local.shutdown(Connection.SD_BOTH));
            addNotSock(checks, "shutdownOutput", local::shutdownOutput);
            addNotSock(checks, "shutdownInput", local::shutdownInput);
            addNotSock(checks, "sendDisconnect(data)", () -> local.sendDisconnect(buf("bye")));
            addNotSock(checks, "sendDisconnect(null)", () -> local.sendDisconnect(null));
            addNotSock(checks, "receiveDisconnect()", local::receiveDisconnect);
            addNotSock(checks, "receiveDisconnect(buf)", () -> local.receiveDisconnect(ByteBuffer.allocate(4096)));
            addNotSock(checks, "setLinger", () -> local.setLinger(Linger.abortive()));
            addNotSock(checks, "setAbortTimeout", () -> local.setAbortTimeout(Duration.ofSeconds(1)));
            addNotSock(checks, "configureBlocking", () -> local.configureBlocking(false));
            addNotSock(checks, "connect", () -> local.connect(addr(p.server), WAIT));
            addNotSock(checks, "localPort", local::localPort);
            assertAll("calls on a closed connection", checks);

            // close again: a no-op, twice
            assertDoesNotThrow(() -> local.close(), "second close");
            assertDoesNotThrow(() -> local.close(), "third close");
            assertFalse(local.isOpen());

            // the local close future completed (LOCAL, since the peer had not closed)
            CloseEvent mine = awaitClose(local, "local");
            assertEquals(CloseEvent.Origin.LOCAL, mine.origin(), "local close event origin: " + mine);

            // the peer saw exactly the one graceful close of the first close() and nothing else
            assertEquals(-1, peer.read(ByteBuffer.allocate(8), WAIT));
            assertGracefulPeerClose(awaitClose(peer, "peer"), "peer");
        }
    }

    private static void addNotSock(List<Executable> checks, String what, Executable call) {
        checks.add(() -> assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK, call, what + " after close"));
    }

    @Test
    void S11_staleConnectionNeverSeesAnotherConnectionsData() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.MESSAGE)) {
            for (int round = 0; round < 5; round++) {
                Connection[] first = connectTo(server, Mode.MESSAGE);
                Connection stale = first[0];
                stale.close();
                first[1].close();

                Connection[] second = connectTo(server, Mode.MESSAGE);
                try (Connection fresh = second[0]; Connection freshPeer = second[1]) {
                    byte[] secret = bytes("for the new connection only #" + round);
                    writeAll(freshPeer, ByteBuffer.wrap(secret));

                    assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK,
                            () -> stale.read(ByteBuffer.allocate(256), QUIET), "stale read");
                    assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK,
                            () -> stale.read(ByteBuffer.allocate(256)), "stale read (no timeout)");
                    assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK,
                            () -> stale.write(buf("intruder")), "stale write");
                    assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK,
                            () -> stale.sendDisconnect(buf("intruder")), "stale sendDisconnect");
                    assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK,
                            () -> stale.shutdown(Connection.SD_BOTH), "stale shutdown");

                    // the new connection got its message intact and nothing from the stale object
                    assertArrayEquals(secret, readMessage(fresh), "fresh connection's own data");
                    assertThrows(WsdxTimeoutException.class, () -> freshPeer.read(ByteBuffer.allocate(256), QUIET),
                            "nothing written through the stale object may reach the new connection");
                    assertFalse(fresh.closeFuture().isDone(), "stale shutdown must not affect the new connection");
                    writeAll(fresh, buf("still fine"));
                    assertArrayEquals(bytes("still fine"), readMessage(freshPeer));
                }
            }
        }
    }

    @Test
    void S11_callsOnClosedServerFailNotSock() throws Exception {
        Server server = Server.bind(ANY_PORT, Mode.STREAM);
        server.close();
        assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK, server::accept, "accept after close");
        assertWsaThrows(SocketClosedException.class, WsaError.WSAENOTSOCK,
                () -> server.accept(Duration.ofMillis(100)), "accept(timeout) after close");
        assertDoesNotThrow(() -> server.close(), "second server close");
    }

    @Test
    void S11_closeUnblocksAReaderWithoutCrash() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client;
            CompletableFuture<Integer> reader = async("s11-blocked-reader", () -> local.read(ByteBuffer.allocate(8), Duration.ofSeconds(30)));
            Thread.sleep(200); // let it block
            local.close();
            try {
                Integer r = await(reader, "blocked read to end after close");
                fail("a read blocked across close() returned " + r + " instead of failing");
            } catch (WsdxException e) {
                // WSAENOTSOCK (or WSAEINTR, as Winsock's closesocket cancels blocking calls) - never data
                assertTrue(e.wsaError() == WsaError.WSAENOTSOCK || e.wsaError() == WsaError.WSAEINTR,
                        "blocked read after close failed with " + e);
            }
        }
    }
}
