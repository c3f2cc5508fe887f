package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.Connection;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.SocketClosedException;
import dev.wsdx.WouldBlockException;
import dev.wsdx.WsaError;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Issue 10.5: exceptions and blocking calls behave as java.net's do. A close from another thread
 * ends a blocked call with {@link SocketClosedException} (S11); a timeout is a
 * {@link SocketTimeoutException}; "nothing available" has one signal, {@link WouldBlockException}.
 */
class JavaNetConventionsTest {

    @Test
    void S11_closeUnderABlockedReadEndsItWithSocketClosed() throws Exception {
        for (Mode mode : Mode.values()) {
            try (Pair p = pair(mode)) {
                CompletableFuture<Integer> reader = async("reader", () -> p.client.read(ByteBuffer.allocate(16)));
                awaitBlockedIn(reader, "wsdx_recv_ex");
                p.client.close();
                Exception e = assertThrows(Exception.class, () -> await(reader, "the blocked read"));
                assertTrue(e instanceof SocketClosedException, mode + ": " + e);
                assertEquals(WsaError.WSAENOTSOCK, ((SocketClosedException) e).wsaError());
            }
        }
    }

    @Test
    void S11_serverCloseUnderABlockedAcceptEndsItWithSocketClosed() throws Exception {
        Server server = Server.bind(ANY_PORT, Mode.STREAM);
        CompletableFuture<Connection> acceptor = async("acceptor", server::accept);
        awaitBlockedIn(acceptor, "wsdx_accept");
        server.close();
        Exception e = assertThrows(Exception.class, () -> await(acceptor, "the blocked accept"));
        assertTrue(e instanceof SocketClosedException, e.toString());
    }

    @Test
    void timeoutsAreSocketTimeoutExceptionsAndRefusalsConnectExceptions() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            assertThrows(SocketTimeoutException.class, () -> p.client.read(ByteBuffer.allocate(4), Duration.ofMillis(50)));
            assertThrows(SocketTimeoutException.class, () -> p.server.accept(Duration.ofMillis(50)));
        }
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName(HOST))) {
            port = s.getLocalPort();
        }
        assertThrows(ConnectException.class, () -> Connection.open(new InetSocketAddress(HOST, port), Mode.STREAM));
    }

    /** One "nothing available" signal: polls and non-blocking calls throw WouldBlockException; 0 is data. */
    @Test
    void nothingAvailableIsAlwaysWouldBlock() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            assertThrows(WouldBlockException.class, () -> p.client.read(ByteBuffer.allocate(4), Duration.ZERO), "read poll");
            assertThrows(WouldBlockException.class, () -> p.server.accept(Duration.ZERO), "accept poll");
            p.client.configureBlocking(false);
            assertThrows(WouldBlockException.class, () -> p.client.read(ByteBuffer.allocate(4)), "non-blocking read");
            assertEquals(0, p.accepted.write(ByteBuffer.allocate(0)), "an empty message");
            p.client.configureBlocking(true);
            assertEquals(0, p.client.read(ByteBuffer.allocate(4), WAIT), "an empty message reads as 0");
            p.client.configureBlocking(false);
            assertThrows(WouldBlockException.class, () -> p.client.read(ByteBuffer.allocate(4)), "then nothing again");
        }
    }

    /**
     * Waits until the task's thread is blocked: inside the named native call (a platform thread's
     * read and accept wait there), or parked in the library's readiness wait (a virtual thread's),
     * so the close surely comes under it.
     */
    private static void awaitBlockedIn(CompletableFuture<?> task, String nativeCall) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            for (java.util.Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
                StackTraceElement[] st = e.getValue();
                if (e.getKey().getName().startsWith("it-") && st.length > 0 && (st[0].getMethodName().equals(nativeCall)
                        || parkedInReadiness(st))) {
                    return;
                }
            }
            assertFalse(task.isDone(), "the call returned before it blocked: " + task);
            Thread.sleep(5);
        }
        fail("no thread blocked in " + nativeCall);
    }

    private static boolean parkedInReadiness(StackTraceElement[] st) {
        for (StackTraceElement f : st) {
            if (f.getClassName().equals("dev.wsdx.internal.Readiness") && f.getMethodName().equals("park")) return true;
        }
        return false;
    }
}
