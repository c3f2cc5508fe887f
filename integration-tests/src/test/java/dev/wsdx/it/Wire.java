package dev.wsdx.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.wsdx.Connection;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hand-made wire bytes of docs/protocol.md for raw {@link Socket} peers, and a "healthy neighbour"
 * check: a second, well-behaved connection that must keep working while a hostile peer misbehaves.
 * Used by the hostile-peer, soak, leak and misuse tests (kept apart from {@link It} on purpose).
 */
final class Wire {
    private Wire() {}

    static final byte[] MAGIC = {0x57, 0x53, 0x44, 0x58}; // "WSDX"
    static final int DATA = 0x01;
    static final int DISCONNECT = 0x02;

    static int modeByte(Mode m) {
        return m == Mode.STREAM ? 1 : 2;
    }

    static byte[] preamble(int version, int mode) {
        return new byte[] {MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], (byte) version, (byte) mode, 0, 0};
    }

    static byte[] preamble(Mode m) {
        return preamble(1, modeByte(m));
    }

    /** A frame header; {@code length} is written as an unsigned 32-bit value (pass -1 for 2^32-1). */
    static byte[] header(int type, int length) {
        return ByteBuffer.allocate(5).put((byte) type).putInt(length).array();
    }

    static byte[] frame(int type, byte[] payload) {
        return ByteBuffer.allocate(5 + payload.length).put((byte) type).putInt(payload.length).put(payload).array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) b.writeBytes(p);
        return b.toByteArray();
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static InetSocketAddress addr(Server s) {
        return new InetSocketAddress(It.HOST, s.localPort());
    }

    /** A raw TCP connection to the server, nothing sent yet. */
    static Socket rawConnect(Server server) throws IOException {
        Socket s = new Socket();
        s.connect(addr(server), 5000);
        s.setSoTimeout((int) It.WAIT.toMillis());
        s.setTcpNoDelay(true);
        return s;
    }

    /** A raw client that has exchanged a valid preamble with the server (the server's one is checked). */
    static Socket rawClient(Server server, Mode mode) throws IOException {
        return rawClient(server, mode, 0);
    }

    /** As {@link #rawClient(Server, Mode)}, with a receive buffer of {@code rcvBuf} bytes (0: default). */
    static Socket rawClient(Server server, Mode mode, int rcvBuf) throws IOException {
        Socket s = new Socket();
        if (rcvBuf > 0) s.setReceiveBufferSize(rcvBuf);
        s.connect(addr(server), 5000);
        s.setSoTimeout((int) It.WAIT.toMillis());
        s.setTcpNoDelay(true);
        s.getOutputStream().write(preamble(mode));
        byte[] theirs = new byte[8];
        new DataInputStream(s.getInputStream()).readFully(theirs);
        assertArrayEquals(preamble(mode), theirs, "server preamble (WSDX, version 1, its mode, reserved 0)");
        return s;
    }

    /** Reads until EOF or an error; returns "eof", "reset" or "timeout". */
    static String endOf(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        try {
            byte[] b = new byte[64 * 1024];
            while (in.read(b) >= 0) {
                // discard
            }
            return "eof";
        } catch (SocketTimeoutException e) {
            return "timeout";
        } catch (SocketException e) {
            return "reset";
        }
    }

    /** What a raw reader parsed from a wsdx sender: the DATA payload bytes, the DISCONNECT payload and how it ended. */
    static final class Parsed {
        final ByteArrayOutputStream data = new ByteArrayOutputStream();
        byte[] disconnect; // null if no DISCONNECT frame
        String end; // "eof", "reset" or "timeout"
        int frames;
    }

    /** Parses wsdx frames from a raw socket (after the preamble) until the stream ends or resets. */
    static Parsed parseFrames(Socket s) throws IOException {
        Parsed p = new Parsed();
        DataInputStream in = new DataInputStream(s.getInputStream());
        try {
            while (true) {
                int type = in.read();
                if (type < 0) {
                    p.end = "eof";
                    return p;
                }
                int len = in.readInt();
                byte[] payload = new byte[len];
                in.readFully(payload);
                p.frames++;
                if (type == DATA) {
                    assertTrue(p.disconnect == null, "DATA frame after the DISCONNECT frame");
                    p.data.writeBytes(payload);
                } else if (type == DISCONNECT) {
                    assertTrue(p.disconnect == null, "two DISCONNECT frames");
                    p.disconnect = payload;
                } else {
                    fail("unknown frame type " + type + " sent by wsdx");
                }
            }
        } catch (EOFException e) {
            p.end = "eof-mid-frame";
            return p;
        } catch (SocketTimeoutException e) {
            p.end = "timeout";
            return p;
        } catch (SocketException e) {
            p.end = "reset";
            return p;
        }
    }

    static void assertPattern(byte[] got, long from, String what) {
        for (int i = 0; i < got.length; i++) {
            if (got[i] != It.pat(from + i)) {
                fail(what + ": byte at offset " + (from + i) + " is " + got[i] + ", expected " + It.pat(from + i));
            }
        }
    }

    // ------------------------------------------------------------------ healthy neighbour

    private static final AtomicInteger ROUND = new AtomicInteger();

    /**
     * A healthy connection on a server, set up before a hostile peer acts. {@link #check()} proves
     * the established pair still works both ways and that a fresh connection is still accepted.
     */
    static final class Healthy implements AutoCloseable {
        final Server server;
        final Mode mode;
        final Connection client;
        final Connection accepted;

        Healthy(Server server) throws Exception {
            this.server = server;
            this.mode = server.mode();
            Connection[] cs = It.connectTo(server, mode);
            client = cs[0];
            accepted = cs[1];
            exchange(client, accepted, "before");
        }

        void check() throws Exception {
            check("");
        }

        void check(String context) throws Exception {
            assertTrue(client.isOpen() && accepted.isOpen(), context + ": healthy pair still open");
            assertTrue(!client.closeFuture().isDone() && !accepted.closeFuture().isDone(),
                    context + ": healthy pair got no close event: " + client.closeFuture().getNow(null)
                            + " / " + accepted.closeFuture().getNow(null));
            exchange(client, accepted, context + ": established healthy connection");
            Connection[] cs = It.connectTo(server, mode);
            try (Connection c = cs[0]; Connection a = cs[1]) {
                exchange(c, a, context + ": fresh healthy connection");
            }
        }

        private void exchange(Connection a, Connection b, String what) throws Exception {
            byte[] m1 = ascii("ping-" + ROUND.incrementAndGet());
            byte[] m2 = ascii("pong-" + ROUND.incrementAndGet());
            It.writeAll(a, ByteBuffer.wrap(m1));
            assertArrayEquals(m1, readExactly(b, m1.length), what + ": a -> b");
            It.writeAll(b, ByteBuffer.wrap(m2));
            assertArrayEquals(m2, readExactly(a, m2.length), what + ": b -> a");
        }

        private byte[] readExactly(Connection c, int n) throws IOException {
            if (mode == Mode.MESSAGE) {
                ByteBuffer b = ByteBuffer.allocate(n + 16);
                int r = c.read(b, It.WAIT);
                assertEquals(n, r, "one message of " + n + " bytes");
                return java.util.Arrays.copyOf(b.array(), r);
            }
            return It.readN(c, n);
        }

        @Override
        public void close() {
            It.closeQuietly(client);
            It.closeQuietly(accepted);
        }
    }

    static long elapsedMs(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos).toMillis();
    }
}
