package dev.wsdx.it;

import static dev.wsdx.it.It.HOST;
import static dev.wsdx.it.It.WAIT;
import static dev.wsdx.it.It.async;
import static dev.wsdx.it.It.await;
import static dev.wsdx.it.It.awaitClose;
import static dev.wsdx.it.Wire.preamble;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.Mode;
import dev.wsdx.SocketClosedException;
import dev.wsdx.WsaCoded;
import dev.wsdx.WsaError;
import dev.wsdx.WsdxTimeoutException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Resource limits seen from the Java API (docs/robustness.md, "Limits"); the native side of each
 * is in native/test/test_limits.c. Raw {@link ServerSocket} peers that never read or never answer.
 */
class ResourceLimitsTest {

    private interface DeafCase {
        void run(Connection c) throws Exception;
    }

    /**
     * body with a STREAM connection to a raw peer that sent its preamble and never reads (a 4 KiB receive
     * buffer), as test_limits.c's client_to_deaf_peer.
     */
    private static void withDeafPeer(DeafCase body) throws Exception {
        try (ServerSocket ss = new ServerSocket()) {
            ss.bind(new InetSocketAddress(HOST, 0));
            ss.setReceiveBufferSize(4096);
            CompletableFuture<Socket> peer = async("deaf-peer", () -> {
                Socket s = ss.accept();
                s.getOutputStream().write(preamble(Mode.STREAM));
                return s; // never reads
            });
            try (Connection c = Connection.open(Mode.STREAM)) {
                c.connect((InetSocketAddress) ss.getLocalSocketAddress(), WAIT);
                try (Socket s = await(peer, "peer accepted")) {
                    body.run(c);
                }
            }
        }
    }

    /** Item 6: a write to a peer that never reads fails after the send timeout; the connection is aborted. */
    @Test
    void L6_sendTimeoutThrowsWsdxTimeoutExceptionAndAborts() throws Exception {
        withDeafPeer(c -> {
            c.setSendTimeout(Duration.ofMillis(300));
            ByteBuffer big = ByteBuffer.allocateDirect(1 << 20);
            long t0 = System.nanoTime();
            WsdxTimeoutException e = assertThrows(WsdxTimeoutException.class, () -> {
                for (int i = 0; i < 64; i++) c.write(big.clear());
            });
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(WsaError.WSAETIMEDOUT, e.wsaError());
            assertTrue(ms < 5000, "send timeout took " + ms + " ms");
            CloseEvent ev = awaitClose(c, "aborted by the send timeout");
            assertEquals(WsaError.WSAETIMEDOUT, ev.errorCode(), "close event " + ev);
            assertThrows(WsdxTimeoutException.class, () -> c.write(ByteBuffer.wrap(new byte[1])));
        });
    }

    /**
     * Item 4 as reported: the abort timeout ends a write blocked on a peer that never reads. The write's
     * exception and the close event carry the same code (the write threw ConnectionResetException while the
     * event said WSAECONNABORTED, when the writer saw the EPIPE that followed the notifier's ETIMEDOUT).
     * Java's write parks on FD_WRITE, so the race itself is pinned by test_limits.c's L4 of the same name,
     * which fails when a failed send reports its own code; this one pins what the Java user sees.
     */
    @Test
    void L4_abortTimeoutGivesTheWriteAndTheCloseEventOneCode() throws Exception {
        withDeafPeer(c -> {
            c.setAbortTimeout(Duration.ofMillis(500));
            ByteBuffer big = ByteBuffer.allocateDirect(1 << 20);
            IOException e = assertThrows(IOException.class, () -> {
                for (int i = 0; i < 256; i++) c.write(big.clear());
            });
            CloseEvent ev = awaitClose(c, "aborted by the abort timeout");
            assertEquals(ev.errorCode(), ((WsaCoded) e).wsaError(), "write " + e + ", close event " + ev);
        });
    }

    /** Item 3: close() ends a connect blocked on a server that never answers, at once, as a closed socket. */
    @Test
    void L3_closeAbortsBlockedConnectWithSocketClosedException() throws Exception {
        try (ServerSocket ss = new ServerSocket()) {
            ss.bind(new InetSocketAddress(HOST, 0)); // the kernel accepts; nobody sends a preamble
            Connection c = Connection.open(Mode.STREAM);
            CompletableFuture<Throwable> connect = async("connector", () -> {
                try {
                    c.connect((InetSocketAddress) ss.getLocalSocketAddress(), Duration.ofSeconds(8));
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            Thread.sleep(200);
            long t0 = System.nanoTime();
            c.close();
            Throwable t = await(connect, "connect ended");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertInstanceOf(SocketClosedException.class, t, "connect after close: " + t);
            assertEquals(WsaError.WSAENOTSOCK, ((SocketClosedException) t).wsaError(), "S11's code");
            assertTrue(ms < 2000, "connect ended " + ms + " ms after close");
        }
    }

    /**
     * Item 1: descriptors run out while an {@code accept()} already waits (parked on FD_ACCEPT). It throws
     * {@link dev.wsdx.TooManyOpenFilesException} (WSAEMFILE) with a WARN log, and once descriptors free, the
     * peer that waited is accepted. Broken by a listener failure that wakes only native waiters.
     */
    @Test
    void L1_waitingAcceptThrowsTooManyOpenFilesAndRecovers() throws Exception {
        try (ChildJvm child = ChildJvm.startWithOpenFiles(300,
                // the WARN on stdout as "WARN dev.wsdx.Server - ...", whatever simplelogger.properties says
                List.of("-Dorg.slf4j.simpleLogger.logFile=System.out", "-Dorg.slf4j.simpleLogger.showThreadName=false",
                        "-Dorg.slf4j.simpleLogger.showDateTime=false"),
                FdExhaustedServer.class)) {
            int port = Integer.parseInt(child.await(30, "PORT ").substring(5));
            child.await(30, "EXHAUSTED ");
            try (Socket raw = new Socket(HOST, port)) { // the kernel completes it; the library cannot accept it
                raw.getOutputStream().write(preamble(Mode.STREAM));
                String warn = child.await(30, "WARN ");
                assertTrue(warn.contains("no file descriptors left"), warn);
                assertEquals("ACCEPT1 TooManyOpenFilesException " + WsaError.WSAEMFILE, child.await(30, "ACCEPT1 "));
                child.await(30, "ACCEPT2 ok");
            }
        }
    }
}
