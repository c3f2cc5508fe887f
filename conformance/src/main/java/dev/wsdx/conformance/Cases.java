package dev.wsdx.conformance;

import static dev.wsdx.conformance.Link.DATA;
import static dev.wsdx.conformance.Link.DISCONNECT;
import static dev.wsdx.conformance.Link.concat;
import static dev.wsdx.conformance.Link.frame;
import static dev.wsdx.conformance.Link.header;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The cases of docs/protocol.md, each named by its section. A case gets fresh connections to the
 * conformance peer from {@link Opener} and checks what the peer puts on the wire.
 */
final class Cases {
    static final int MAX_FRAME = 16 * 1024 * 1024;
    static final int MAX_DISCONNECT = 4096;
    static final int STREAM = 1;
    static final int MESSAGE = 2;

    /** A raw TCP connection to the peer under test, nothing sent yet. */
    interface Opener {
        Link open() throws IOException;
    }

    interface Body {
        void run(Cases k) throws Exception;
    }

    record Case(String section, String name, Body body) {}

    final Opener opener;
    final int mode;
    final int handshakeMs;
    final int timeoutMs;

    Cases(Opener opener, int mode, int handshakeMs, int timeoutMs) {
        this.opener = opener;
        this.mode = mode;
        this.handshakeMs = handshakeMs;
        this.timeoutMs = timeoutMs;
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    /** A connection past the preamble exchange (the peer's preamble checked byte for byte). */
    Link ready() throws IOException {
        for (int attempt = 1; ; attempt++) {
            Link l = opener.open();
            byte[] theirs;
            try {
                l.send(Link.preamble(1, mode));
                theirs = l.read(8, timeoutMs);
            } catch (IOException e) {
                theirs = null;
            }
            // a client under test whose handshake time ran out while it waited in our backlog has
            // given up on that connection: it is the next one that counts (at most 3 tries)
            if (theirs == null && attempt < 3) {
                l.close();
                continue;
            }
            check(theirs != null, "the peer's preamble did not arrive");
            check(Link.same(theirs, Link.preamble(1, mode)), "the peer's preamble: " + Arrays.toString(theirs));
            return l;
        }
    }

    /** The peer's frames after the preamble, up to the end of its direction. */
    record Reply(List<Object[]> frames, byte[] data, byte[] disconnect, String end, boolean whole) {}

    static Reply decode(Link.End e) {
        List<Object[]> frames = new ArrayList<>();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        byte[] disc = null, b = e.bytes();
        int i = 0;
        while (i + 5 <= b.length) {
            int len = ((b[i + 1] & 0xff) << 24) | ((b[i + 2] & 0xff) << 16) | ((b[i + 3] & 0xff) << 8) | (b[i + 4] & 0xff);
            if (len < 0 || i + 5 + len > b.length) break;
            byte[] p = Arrays.copyOfRange(b, i + 5, i + 5 + len);
            frames.add(new Object[] {b[i] & 0xff, p});
            if (b[i] == DATA) data.writeBytes(p);
            if (b[i] == DISCONNECT) disc = p;
            i += 5 + len;
        }
        return new Reply(frames, data.toByteArray(), disc, e.how(), i == b.length);
    }

    /** Sends bytes (then FIN) and returns the peer's reply up to the end of its direction. */
    Reply exchange(byte[] out, boolean fin) throws IOException {
        try (Link l = ready()) {
            l.send(out);
            if (fin) l.fin();
            return decode(l.end(timeoutMs));
        }
    }

    /** The echo peer's answer to data then DISCONNECT(d): the data, DISCONNECT(d), FIN. */
    void expectEcho(Reply r, byte[] data, byte[] disc) {
        check(r.whole() && r.end().equals("eof"), "want frames then FIN, got " + r.end()
                + (r.whole() ? "" : " (a cut frame)"));
        check(Link.same(r.data(), data), "echoed data: " + r.data().length + " bytes, want " + data.length);
        check(r.disconnect() != null && Link.same(r.disconnect(), disc), "DISCONNECT answer: want "
                + disc.length + " bytes, got " + (r.disconnect() == null ? "none" : r.disconnect().length));
        Object[] last = r.frames().get(r.frames().size() - 1);
        check((int) last[0] == DISCONNECT, "DISCONNECT must be the last frame");
        if (mode == STREAM) {
            for (Object[] f : r.frames()) check((int) f[0] != DATA || ((byte[]) f[1]).length > 0, "an empty stream DATA frame");
        }
    }

    /** Sends bytes and expects the peer to reset the connection within limitMs. */
    void expectReset(byte[] out, boolean fin, int limitMs, boolean afterPreamble) throws IOException {
        try (Link l = afterPreamble ? ready() : opener.open()) {
            long t0 = System.currentTimeMillis();
            l.send(out);
            if (fin) l.fin();
            Link.End e = l.end(limitMs);
            check(e.reset(), "want a reset within " + limitMs + " ms, got " + e + " after "
                    + (System.currentTimeMillis() - t0) + " ms");
        }
    }

    static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 7 + 3);
        return b;
    }

    List<Case> all() {
        int once = handshakeMs / 2; // "at once": well before the handshake time
        byte[] bye = "bye".getBytes();
        List<Case> c = new ArrayList<>();
        c.add(new Case("1", "preamble sent at once, exact bytes", k -> {
            try (Link l = opener.open()) {
                byte[] theirs = l.read(8, once);
                check(theirs != null && Link.same(theirs, Link.preamble(1, mode)), "want 57 53 44 58 01 0" + mode + " 00 00");
            }
        }));
        c.add(new Case("1.1", "first byte not 'W' refused at once (a plain client)", k ->
                expectReset("GET ".getBytes(), false, once, false)));
        c.add(new Case("1.1", "fourth byte not 'X' refused at once", k ->
                expectReset("WSDY".getBytes(), false, once, false)));
        c.add(new Case("1.2", "version 02 refused at once", k ->
                expectReset(new byte[] {'W', 'S', 'D', 'X', 2}, false, once, false)));
        c.add(new Case("1.2", "version 02 then FIN is a version error (refused, not waited for)", k ->
                expectReset(new byte[] {'W', 'S', 'D', 'X', 2}, true, once, false)));
        c.add(new Case("1.3", "the other mode refused at once", k ->
                expectReset(new byte[] {'W', 'S', 'D', 'X', 1, (byte) (3 - mode)}, false, once, false)));
        c.add(new Case("1.4", "FIN after 4 valid bytes ends the connection at once", k -> {
            try (Link l = opener.open()) {
                l.send("WSDX".getBytes());
                l.fin();
                Link.End e = l.end(once);
                check(!e.how().equals("timeout"), "want the end within " + once + " ms, got " + e);
            }
        }));
        c.add(new Case("1.4", "RST after 0 and 4 bytes: the peer goes on serving", k -> {
            opener.open().reset();
            try (Link l = opener.open()) {
                l.send("WSDX".getBytes());
                l.reset();
            }
            expectEcho(exchange(concat(frame(DATA, bye), frame(DISCONNECT, new byte[0])), true), bye, new byte[0]);
        }));
        c.add(new Case("1.5", "no preamble: reset after the handshake time (" + handshakeMs + " ms)", k -> {
            try (Link l = opener.open()) {
                l.send("WSDX".getBytes());
                long t0 = System.currentTimeMillis();
                Link.End e = l.end(handshakeMs * 3 + 2000);
                long dt = System.currentTimeMillis() - t0;
                check(e.reset() && dt >= handshakeMs * 7L / 10, "want a reset after ~" + handshakeMs + " ms, got " + e + " after " + dt + " ms");
            }
        }));
        c.add(new Case("2", "DATA echoed, DISCONNECT answered", k ->
                expectEcho(exchange(concat(frame(DATA, "hello".getBytes()), frame(DISCONNECT, bye)), true), "hello".getBytes(), bye)));
        c.add(new Case("2.2", "DATA of exactly 16 MiB accepted", k -> bigData()));
        c.add(new Case("2.2", "DATA of 16 MiB + 1 refused", k ->
                expectReset(header(DATA, MAX_FRAME + 1L), false, timeoutMs, true)));
        c.add(new Case("2.2", "DISCONNECT of exactly 4096 accepted", k -> {
            byte[] d = pattern(MAX_DISCONNECT);
            expectEcho(exchange(frame(DISCONNECT, d), true), new byte[0], d);
        }));
        c.add(new Case("2.2", "DISCONNECT of 4097 refused", k ->
                expectReset(header(DISCONNECT, MAX_DISCONNECT + 1L), false, timeoutMs, true)));
        c.add(new Case("2.1", "unknown frame type 03 refused", k ->
                expectReset(concat(header(3, 1), new byte[] {'x'}), false, timeoutMs, true)));
        c.add(new Case("2.4", "a byte after DISCONNECT: reset", k ->
                expectReset(concat(frame(DISCONNECT, bye), new byte[] {1}), false, timeoutMs, true)));
        c.add(new Case("3.4", "truncated frame then FIN: reset", k ->
                expectReset(concat(header(DATA, 10), new byte[] {1, 2, 3}), true, timeoutMs, true)));
        if (mode == STREAM) {
            c.add(new Case("2.3", "stream: 1024 empty DATA frames ignored, twice around a non-empty one", k -> {
                byte[] empties = new byte[1024 * 5];
                for (int i = 0; i < 1024; i++) empties[i * 5] = DATA;
                byte[] x = {'x'};
                expectEcho(exchange(concat(empties, frame(DATA, x), empties, frame(DISCONNECT, bye)), true), x, bye);
            }));
            c.add(new Case("2.3", "stream: the 1025th empty DATA frame in a row refused", k -> {
                byte[] empties = new byte[1025 * 5];
                for (int i = 0; i < 1025; i++) empties[i * 5] = DATA;
                expectReset(empties, false, timeoutMs, true);
            }));
        } else {
            c.add(new Case("2", "message: an empty DATA frame is an empty message", k -> {
                Reply r = exchange(concat(frame(DATA, new byte[0]), frame(DISCONNECT, new byte[0])), true);
                expectEcho(r, new byte[0], new byte[0]);
                check(r.frames().size() == 2 && (int) r.frames().get(0)[0] == DATA, "want the empty message echoed");
            }));
        }
        c.add(new Case("3.1", "DISCONNECT then FIN: data first, then the end", k ->
                expectEcho(exchange(concat(frame(DATA, "abc".getBytes()), frame(DISCONNECT, bye)), true), "abc".getBytes(), bye)));
        c.add(new Case("3.1", "DISCONNECT without FIN ends the direction at once", k -> {
            try (Link l = ready()) {
                l.send(frame(DISCONNECT, bye));
                Reply r = decode(l.end(timeoutMs)); // the peer answers before our FIN
                expectEcho(r, new byte[0], bye);
            }
        }));
        c.add(new Case("3.2", "FIN alone: disconnect data of length 0", k ->
                expectEcho(exchange(frame(DATA, "abc".getBytes()), true), "abc".getBytes(), new byte[0])));
        c.add(new Case("3.3", "RST: the peer goes on serving", k -> {
            try (Link l = ready()) {
                l.send(frame(DATA, "abc".getBytes()));
                l.reset();
            }
            expectEcho(exchange(frame(DISCONNECT, bye), true), new byte[0], bye);
        }));
        c.add(new Case("4", mode == MESSAGE ? "the example, byte-exact" : "the example in stream mode", k -> example()));
        return c;
    }

    private void bigData() throws Exception {
        byte[] big = pattern(MAX_FRAME);
        try (Link l = ready()) {
            Thread w = new Thread(() -> {
                try {
                    l.send(concat(frame(DATA, big), frame(DISCONNECT, new byte[0])));
                    l.fin();
                } catch (IOException ignored) {
                    // the reader reports what went wrong
                }
            });
            w.start();
            Reply r = decode(l.end(timeoutMs * 3));
            w.join();
            expectEcho(r, big, new byte[0]);
            if (mode == MESSAGE) check(r.frames().size() == 2, "want one 16 MiB message");
        }
    }

    private void example() throws Exception {
        byte[] disc = {0, 0, 0, 0, 0, 0, 0, 7};
        byte[] wire = concat(new byte[] {1, 0, 0, 0, 2, 0x68, 0x69}, new byte[] {2, 0, 0, 0, 8}, disc);
        try (Link l = ready()) {
            l.send(wire);
            l.fin();
            Link.End e = l.end(timeoutMs);
            if (mode == MESSAGE) {
                check(e.how().equals("eof") && Link.same(e.bytes(), wire), "want the same bytes back then FIN, got "
                        + e + ": " + Arrays.toString(e.bytes()));
            } else {
                expectEcho(decode(e), "hi".getBytes(), disc);
            }
        }
    }
}
