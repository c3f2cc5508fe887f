package dev.wsdx.conformance;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.Arrays;

/** One TCP connection to the implementation under test, spoken byte by byte (plain java.net). */
final class Link implements AutoCloseable {
    static final int DATA = 0x01;
    static final int DISCONNECT = 0x02;

    /** How the peer's direction ended, and what came before. */
    record End(String how, byte[] bytes) {
        boolean reset() { return how.equals("reset"); }
        @Override public String toString() { return how + " after " + bytes.length + " bytes"; }
    }

    final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private byte[] pending = new byte[0]; // bytes read ahead by the opener, read first

    Link(Socket socket) throws IOException {
        this(socket, new byte[0]);
    }

    Link(Socket socket, byte[] pending) throws IOException {
        this.socket = socket;
        this.pending = pending;
        socket.setTcpNoDelay(true);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    static byte[] preamble(int version, int mode) {
        return new byte[] {'W', 'S', 'D', 'X', (byte) version, (byte) mode, 0, 0};
    }

    static byte[] header(int type, long len) {
        return new byte[] {(byte) type, (byte) (len >>> 24), (byte) (len >>> 16), (byte) (len >>> 8), (byte) len};
    }

    static byte[] frame(int type, byte[] payload) {
        return concat(header(type, payload.length), payload);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) b.writeBytes(p);
        return b.toByteArray();
    }

    void send(byte[] b) throws IOException {
        out.write(b);
        out.flush();
    }

    void fin() throws IOException {
        socket.shutdownOutput();
    }

    void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    /** Exactly n bytes, or null when the connection ends or timeoutMs passes first. */
    byte[] read(int n, int timeoutMs) throws IOException {
        byte[] b = new byte[n];
        long deadline = System.currentTimeMillis() + timeoutMs;
        int have = Math.min(n, pending.length);
        System.arraycopy(pending, 0, b, 0, have);
        pending = Arrays.copyOfRange(pending, have, pending.length);
        try {
            while (have < n) {
                socket.setSoTimeout((int) Math.max(1, deadline - System.currentTimeMillis()));
                int k = in.read(b, have, n - have);
                if (k < 0) return null;
                have += k;
            }
        } catch (SocketTimeoutException | SocketException e) {
            return null;
        }
        return b;
    }

    /** One frame: {type, payload}, or null when none arrives whole. */
    Object[] readFrame(int timeoutMs) throws IOException {
        byte[] h = read(5, timeoutMs);
        if (h == null) return null;
        long len = ((h[1] & 0xffL) << 24) | ((h[2] & 0xff) << 16) | ((h[3] & 0xff) << 8) | (h[4] & 0xff);
        byte[] p = read((int) len, timeoutMs);
        return p == null ? null : new Object[] {h[0] & 0xff, p};
    }

    /** Reads until the peer's direction ends (EOF or reset) or timeoutMs passes ("timeout"). */
    End end(int timeoutMs) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        got.writeBytes(pending);
        pending = new byte[0];
        long deadline = System.currentTimeMillis() + timeoutMs;
        byte[] b = new byte[65536];
        try {
            while (true) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) return new End("timeout", got.toByteArray());
                socket.setSoTimeout((int) left);
                int k = in.read(b);
                if (k < 0) return new End("eof", got.toByteArray());
                got.write(b, 0, k);
            }
        } catch (SocketTimeoutException e) {
            return new End("timeout", got.toByteArray());
        } catch (SocketException e) {
            return new End("reset", got.toByteArray());
        }
    }

    static boolean same(byte[] a, byte[] b) {
        return Arrays.equals(a, b);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a connection the peer reset
        }
    }
}
