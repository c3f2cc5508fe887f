package dev.wsdx.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.WouldBlockException;
import dev.wsdx.WsdxException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.function.Executable;

/** Shared helpers of the integration tests: loopback pairs, patterned data, waits. */
final class It {
    private It() {}

    static final String HOST = "127.0.0.1";
    static final InetSocketAddress ANY_PORT = new InetSocketAddress(HOST, 0);
    /** Generous wait for anything that must happen "soon" on loopback. */
    static final Duration WAIT = Duration.ofSeconds(10);
    static final long WAIT_S = WAIT.getSeconds();
    /** How long we watch for something that must NOT happen. */
    static final Duration QUIET = Duration.ofMillis(400);

    private static final AtomicInteger THREADS = new AtomicInteger();

    /**
     * Whether {@code t} waits in a blocking call of the library: inside a native call (a platform
     * thread's read and accept wait there, RUNNABLE) or parked (a virtual thread's wait, and writes).
     */
    static boolean blockedInLibrary(Thread t) {
        if (t == null) return false;
        Thread.State state = t.getState();
        if (state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING) return true;
        StackTraceElement[] st = t.getStackTrace();
        return st.length > 0 && st[0].isNativeMethod() && st[0].getClassName().equals("dev.wsdx.internal.WsdxNative");
    }

    /** Runs a task on a fresh daemon thread (never the common pool: blocking native calls). */
    static <T> CompletableFuture<T> async(String name, ThrowingSupplier<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(task.get());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "it-" + name + "-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        t.start();
        return f;
    }

    static CompletableFuture<Void> asyncRun(String name, ThrowingRunnable task) {
        return async(name, () -> {
            task.run();
            return null;
        });
    }

    @FunctionalInterface
    interface ThrowingSupplier<T> {
        T get() throws Exception;
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Waits for a future; unwraps its failure so that assertion messages stay readable. */
    static <T> T await(CompletableFuture<T> f, String what) throws Exception {
        try {
            return f.get(WAIT_S, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError(what + ": did not happen within " + WAIT_S + " s");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof Exception) throw (Exception) c;
            if (c instanceof Error) throw (Error) c;
            throw e;
        }
    }

    static CloseEvent awaitClose(Connection c, String who) throws Exception {
        return await(c.closeFuture(), who + " close event (FD_CLOSE)");
    }

    /** Asserts nothing completes the future during QUIET. */
    static void assertStaysPending(CompletableFuture<?> f, String what) throws Exception {
        try {
            Object v = f.get(QUIET.toMillis(), TimeUnit.MILLISECONDS);
            fail(what + " should not have happened, but completed with " + v);
        } catch (TimeoutException expected) {
            // good
        } catch (ExecutionException e) {
            fail(what + " should not have happened, but failed with " + e.getCause(), e.getCause());
        }
    }

    static void assertGracefulPeerClose(CloseEvent e, String who) {
        assertEquals(CloseEvent.Origin.PEER, e.origin(), who + ": close event origin, event " + e);
        assertEquals(0, e.errorCode(), who + ": close event must be graceful (error 0), got " + e);
        assertTrue(e.isGraceful(), who + ": isGraceful() for " + e);
    }

    static void assertWsa(int expected, dev.wsdx.WsaCoded e) {
        assertEquals(expected, e.wsaError(),
                "expected " + dev.wsdx.WsaError.name(expected) + "(" + expected + ") but got "
                        + e.wsaName() + "(" + e.wsaError() + "): " + e);
    }

    /** assertThrows that also checks the WSA code. */
    static <E extends Throwable & dev.wsdx.WsaCoded> E assertWsaThrows(Class<E> type, int wsa, Executable call, String what) {
        E e = assertThrows(type, call, what);
        assertEquals(wsa, e.wsaError(), what + ": wsaError of " + e);
        return e;
    }

    // ------------------------------------------------------------------ pairs

    /** A listening server plus one connected pair (client side and accepted side). */
    static final class Pair implements AutoCloseable {
        final Server server;
        final Connection client;
        final Connection accepted;

        Pair(Server server, Connection client, Connection accepted) {
            this.server = server;
            this.client = client;
            this.accepted = accepted;
        }

        @Override
        public void close() {
            closeQuietly(client);
            closeQuietly(accepted);
            closeQuietly(server);
        }
    }

    static InetSocketAddress addr(Server s) {
        return new InetSocketAddress(HOST, s.localPort());
    }

    static Pair pair(Mode mode) throws Exception {
        Server server = Server.bind(ANY_PORT, mode);
        try {
            Connection[] cs = connectTo(server, mode);
            return new Pair(server, cs[0], cs[1]);
        } catch (Exception | Error e) {
            server.close();
            throw e;
        }
    }

    /** Returns {client, accepted}. The connect runs on its own thread while we accept. */
    static Connection[] connectTo(Server server, Mode mode) throws Exception {
        InetSocketAddress a = addr(server);
        CompletableFuture<Connection> cf = async("connect", () -> Connection.open(a, mode));
        Connection accepted;
        try {
            accepted = server.accept(WAIT);
        } catch (Exception e) {
            cf.thenAccept(It::closeQuietly);
            throw e;
        }
        try {
            return new Connection[] {await(cf, "connect"), accepted};
        } catch (Exception | Error e) {
            closeQuietly(accepted);
            throw e;
        }
    }

    static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort in cleanup
        }
    }

    // ------------------------------------------------------------------ data

    /** Byte at absolute stream offset; lets a reader check order and content without keeping a copy. */
    static byte pat(long offset) {
        return (byte) ((offset * 131 + 17) % 251);
    }

    static ByteBuffer patterned(long from, int n) {
        ByteBuffer b = ByteBuffer.allocate(n);
        for (int i = 0; i < n; i++) b.put(pat(from + i));
        b.flip();
        return b;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static ByteBuffer buf(String s) {
        return ByteBuffer.wrap(bytes(s));
    }

    static ByteBuffer longBuf(long v) {
        ByteBuffer b = ByteBuffer.allocate(8);
        b.putLong(v); // big-endian
        b.flip();
        return b;
    }

    /** Remaining bytes of a buffer returned by receiveDisconnect(). */
    static byte[] remaining(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }

    /** Blocking write of the whole buffer (loops over partial writes). */
    static void writeAll(Connection c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            int n = c.write(b);
            assertTrue(n >= 0, "write returned " + n);
        }
    }

    /** Blocking write of total patterned bytes starting at stream offset 0, in chunks. */
    static void writePattern(Connection c, long total) throws IOException {
        long off = 0;
        while (off < total) {
            int n = (int) Math.min(64 * 1024, total - off);
            ByteBuffer b = patterned(off, n);
            writeAll(c, b);
            off += n;
        }
    }

    /**
     * Non-blocking writes of patterned bytes until the connection takes no more (the
     * peer is not reading): a few zero / would-block answers in a row, some ms apart.
     * Returns the number of bytes written. Fails if the library never pushes back.
     */
    static long writeUntilFull(Connection c, long limit) throws Exception {
        c.configureBlocking(false);
        long off = 0;
        int stalls = 0;
        while (stalls < 5) {
            if (off >= limit) {
                fail("wrote " + off + " bytes without the connection ever refusing more: no back-pressure");
            }
            ByteBuffer b = patterned(off, 64 * 1024);
            int n;
            try {
                n = c.write(b);
            } catch (WouldBlockException wb) {
                n = 0;
            }
            if (n > 0) {
                off += n;
                stalls = 0;
            } else {
                stalls++;
                Thread.sleep(40);
            }
        }
        return off;
    }

    /** Reads exactly n patterned bytes starting at stream offset from, checking every byte. */
    static void readPattern(Connection c, long from, long n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        long off = from;
        long end = from + n;
        while (off < end) {
            b.clear();
            b.limit((int) Math.min(b.capacity(), end - off));
            int r = c.read(b, WAIT);
            if (r < 0) fail("stream ended after " + (off - from) + " of " + n + " bytes");
            b.flip();
            for (int i = 0; i < r; i++, off++) {
                byte got = b.get();
                if (got != pat(off)) fail("byte at offset " + off + " is " + got + ", expected " + pat(off));
            }
        }
    }

    /** Reads patterned bytes from offset 0 until the stream ends (-1); returns how many. */
    static long drainPatternToEnd(Connection c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        long off = 0;
        while (true) {
            b.clear();
            int r = c.read(b, WAIT);
            if (r < 0) return off;
            b.flip();
            for (int i = 0; i < r; i++, off++) {
                byte got = b.get();
                if (got != pat(off)) fail("byte at offset " + off + " is " + got + ", expected " + pat(off));
            }
        }
    }

    /** Reads exactly n bytes (stream mode) and returns them. */
    static byte[] readN(Connection c, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            int r = c.read(b, WAIT);
            if (r < 0) fail("stream ended after " + b.position() + " of " + n + " bytes");
        }
        return b.array();
    }

    /** Reads one message (message mode) into a big buffer and returns it. */
    static byte[] readMessage(Connection c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(256 * 1024);
        int r = c.read(b, WAIT);
        assertTrue(r >= 0, "message read returned " + r);
        assertEquals(r, b.position(), "read count vs buffer position");
        byte[] out = new byte[r];
        b.flip();
        b.get(out);
        return out;
    }

    static void assertBytes(byte[] expected, byte[] actual, String what) {
        assertArrayEquals(expected, actual, what);
    }

    /** A listener that records every invocation. */
    static final class Recorder implements dev.wsdx.CloseListener {
        final List<CloseEvent> events = java.util.Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<CloseEvent> first = new CompletableFuture<>();

        @Override
        public void onClose(Connection c, CloseEvent e) {
            events.add(e);
            first.complete(e);
        }

        int count() {
            return events.size();
        }
    }
}
