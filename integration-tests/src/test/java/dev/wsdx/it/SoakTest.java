package dev.wsdx.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.ConnectionResetException;
import dev.wsdx.DisconnectedException;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.WsaError;
import dev.wsdx.WsdxException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Randomized soak (issue 5): {@value #CONNECTIONS} connections over {@value #WORKERS} concurrent
 * workers, both ends through the wsdx Java API, STREAM and MESSAGE mode, random message sizes
 * (0..64 KiB), random write splits and a random way of ending: S1, S5 (0..4096 bytes), S6, S7, S9,
 * S8 and S5-then-S8. Graceful endings must deliver every byte intact and in order and the disconnect
 * data exactly once; abortive ones must show the reader WSAECONNRESET, a correct prefix of the data
 * and never partial disconnect data.
 *
 * <p>Reproduce a run with {@code -Dwsdx.soak.seed=<seed>} (printed at the start and in every failure).
 * Connection {@code i} uses its own generator derived from (seed, i), so one failing connection is
 * reproducible whatever the thread interleaving.
 */
class SoakTest {
    static final int CONNECTIONS = Integer.getInteger("wsdx.soak.connections", 10_000);
    static final int WORKERS = Integer.getInteger("wsdx.soak.workers", 8);
    /** Whole run must stay well inside this (the brief: < 60 s on 2 cores). */
    static final Duration BUDGET = Duration.ofSeconds(55);

    enum Ending { S1, S5, S6, S7, S9, S8, S5_THEN_S8 }

    /** The endings drawn from; {@code -Dwsdx.soak.endings=S8,S9} narrows a run down (all by default). */
    static final Ending[] ENDINGS = endings();

    private static Ending[] endings() {
        String p = System.getProperty("wsdx.soak.endings", "");
        if (p.isBlank()) return Ending.values();
        return Arrays.stream(p.split(",")).map(String::trim).map(Ending::valueOf).toArray(Ending[]::new);
    }

    private long seed;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Map<Ending, LongAdder> endings = new EnumMap<>(Ending.class);
    private final LongAdder bytes = new LongAdder();
    private final LongAdder resetsBeforeAllData = new LongAdder();

    /** The soak as specified: {@value #WORKERS} workers at once. */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void randomizedConnectionsKeepEveryGuarantee() throws Exception {
        soak(WORKERS);
    }

    private void soak(int workerCount) throws Exception {
        Long fixed = Long.getLong("wsdx.soak.seed");
        seed = fixed != null ? fixed : new SecureRandom().nextLong();
        System.out.println("SoakTest: seed=" + seed + " (rerun with -Dwsdx.soak.seed=" + seed + "), "
                + CONNECTIONS + " connections, " + workerCount + " workers");
        for (Ending e : Ending.values()) endings.put(e, new LongAdder());

        // one server per worker and mode: accept() then returns exactly the connection just opened
        Server[][] servers = new Server[workerCount][2];
        ExecutorService workers = Executors.newFixedThreadPool(workerCount, daemon("soak-worker"));
        ExecutorService readers = Executors.newFixedThreadPool(workerCount, daemon("soak-reader"));
        long t0 = System.nanoTime();
        AtomicInteger next = new AtomicInteger();
        AtomicLong done = new AtomicLong();
        try {
            for (int w = 0; w < workerCount; w++) {
                servers[w][0] = Server.bind(It.ANY_PORT, Mode.STREAM);
                servers[w][1] = Server.bind(It.ANY_PORT, Mode.MESSAGE);
            }
            List<Future<?>> fs = new ArrayList<>();
            for (int w = 0; w < workerCount; w++) {
                Server[] mine = servers[w];
                fs.add(workers.submit(() -> {
                    int i;
                    while (failure.get() == null && (i = next.getAndIncrement()) < CONNECTIONS) {
                        if (System.nanoTime() - t0 > BUDGET.toNanos()) {
                            failure.compareAndSet(null, new AssertionError(ctx(-1, null, null)
                                    + " only " + done.get() + " of " + CONNECTIONS + " connections within " + BUDGET));
                            return;
                        }
                        try {
                            oneConnection(i, mine, readers);
                            done.incrementAndGet();
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        }
                    }
                }));
            }
            for (Future<?> f : fs) f.get(BUDGET.toSeconds() + 30, TimeUnit.SECONDS);
        } finally {
            workers.shutdownNow();
            readers.shutdownNow();
            for (Server[] pair : servers) for (Server s : pair) It.closeQuietly(s);
        }
        long ms = Duration.ofNanos(System.nanoTime() - t0).toMillis();
        System.out.println("SoakTest: seed=" + seed + " " + done.get() + " connections in " + ms + " ms, "
                + bytes.sum() / 1024 + " KiB of data, endings " + endings
                + ", abortive endings that cut data short: " + resetsBeforeAllData.sum());
        Throwable f = failure.get();
        if (f instanceof AssertionError) throw (AssertionError) f;
        if (f != null) throw new AssertionError("seed=" + seed + ": " + f, f);
        assertTrue(done.get() == CONNECTIONS, "seed=" + seed + ": " + done.get() + " of " + CONNECTIONS + " connections");
        assertTrue(ms < BUDGET.toMillis(), "seed=" + seed + ": took " + ms + " ms");
    }

    private String ctx(int i, Mode mode, Ending ending) {
        return "[seed=" + seed + ", connection " + i + (mode != null ? ", " + mode : "")
                + (ending != null ? ", " + ending : "") + "]";
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private static void check(boolean ok, String ctx, String what) {
        if (!ok) throw new AssertionError(ctx + " " + what);
    }

    /** Sizes: mostly small, with a fair share anywhere up to 64 KiB; 0 is included. */
    private static int messageSize(SplittableRandom r) {
        int k = r.nextInt(10);
        if (k < 5) return r.nextInt(257); // 0..256
        if (k < 8) return r.nextInt(4097); // 0..4 KiB
        return r.nextInt(64 * 1024 + 1); // 0..64 KiB
    }

    private void oneConnection(int i, Server[] servers, ExecutorService readers) throws Exception {
        try {
            oneConnection0(i, servers, readers);
        } catch (AssertionError e) {
            throw e;
        } catch (Exception e) {
            SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (i + 1)));
            Mode mode = r.nextBoolean() ? Mode.STREAM : Mode.MESSAGE;
            throw new AssertionError(ctx(i, mode, ENDINGS[r.nextInt(ENDINGS.length)])
                    + " unexpected " + e, e);
        }
    }

    private void oneConnection0(int i, Server[] servers, ExecutorService readers) throws Exception {
        SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (i + 1)));
        Mode mode = r.nextBoolean() ? Mode.STREAM : Mode.MESSAGE;
        Ending ending = ENDINGS[r.nextInt(ENDINGS.length)];
        String ctx = ctx(i, mode, ending);
        Server server = servers[mode == Mode.STREAM ? 0 : 1];

        int nMsg = r.nextInt(4);
        int[] sizes = new int[nMsg];
        long total = 0;
        for (int k = 0; k < nMsg; k++) total += sizes[k] = messageSize(r);
        byte[] disc = null;
        if (ending == Ending.S5 || ending == Ending.S5_THEN_S8) {
            disc = new byte[r.nextInt(Connection.MAX_DISCONNECT_DATA + 1)];
            for (int k = 0; k < disc.length; k++) disc[k] = (byte) (k * 7 + i);
        }
        boolean clientSends = r.nextBoolean();
        boolean direct = r.nextBoolean();
        long splitSeed = r.nextLong();

        Connection client = Connection.open(new InetSocketAddress(It.HOST, server.localPort()), mode);
        Connection accepted;
        try {
            accepted = server.accept(It.WAIT);
        } catch (Exception e) {
            It.closeQuietly(client);
            throw new AssertionError(ctx + " accept: " + e, e);
        }
        Connection a = clientSends ? client : accepted; // sender, ends the connection
        Connection b = clientSends ? accepted : client; // reader
        AtomicInteger aEvents = new AtomicInteger(), bEvents = new AtomicInteger();
        a.onClose((c, e) -> aEvents.incrementAndGet(), Runnable::run);
        b.onClose((c, e) -> bEvents.incrementAndGet(), Runnable::run);
        try {
            boolean abortive = ending == Ending.S8 || ending == Ending.S5_THEN_S8;
            byte[] discF = disc;
            long totalF = total;
            // S5 then S8: the FIN of the disconnect may reach the reader before the RST (first ending wins)
            boolean eitherEnd = ending == Ending.S5_THEN_S8;
            Future<Long> reader = readers.submit(() -> readAll(b, mode, sizes, totalF, abortive, eitherEnd, ctx));

            // --- the sender: random splits of the byte stream, one write per message in MESSAGE mode
            SplittableRandom split = new SplittableRandom(splitSeed);
            long off = 0;
            for (int k = 0; k < nMsg; k++) {
                int n = sizes[k];
                if (mode == Mode.MESSAGE) {
                    ByteBuffer m = chunk(off, n, direct);
                    int w = a.write(m);
                    check(w == n && !m.hasRemaining(), ctx, "message write of " + n + " took " + w);
                    off += n;
                } else {
                    int done = 0;
                    while (done < n) {
                        int c = 1 + split.nextInt(n - done);
                        It.writeAll(a, chunk(off, c, direct));
                        done += c;
                        off += c;
                    }
                }
            }
            bytes.add(total);
            endings.get(ending).increment();
            switch (ending) {
                case S1: a.shutdownOutput(); break;
                case S5: a.sendDisconnect(direct ? directCopy(discF) : ByteBuffer.wrap(discF)); break;
                case S6: a.sendDisconnect(null); break;
                case S7: a.close(Linger.dontLinger()); break;
                case S9: {
                    long t = System.nanoTime();
                    a.close(Linger.timeout(Duration.ofSeconds(10)));
                    long ms = Duration.ofNanos(System.nanoTime() - t).toMillis();
                    check(ms < 9_000, ctx, "S9 close with a reading peer should finish early, took " + ms + " ms");
                    break;
                }
                case S8: a.close(Linger.abortive()); break;
                case S5_THEN_S8:
                    a.sendDisconnect(ByteBuffer.wrap(discF));
                    a.close(Linger.abortive());
                    break;
                default: throw new AssertionError(ending);
            }

            long got;
            try {
                got = reader.get(It.WAIT_S * 2, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof AssertionError) throw (AssertionError) c;
                throw new AssertionError(ctx + " reader failed: " + c, c);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError(ctx + " reader did not finish within " + (It.WAIT_S * 2) + " s");
            }
            if (abortive && got < total) resetsBeforeAllData.increment();

            // --- the reader's close event and disconnect data
            CloseEvent ev;
            try {
                ev = b.closeFuture().get(It.WAIT_S, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError(ctx + " reader's close event did not come within " + It.WAIT_S + " s");
            }
            check(ev.origin() == CloseEvent.Origin.PEER, ctx, "reader's close event must come from the peer: " + ev);
            ByteBuffer rd = b.receiveDisconnect();
            byte[] rdb = It.remaining(rd);
            if (ending == Ending.S5_THEN_S8) {
                if (ev.errorCode() == 0) {
                    check(got == total && ev.hasDisconnectData() == (discF.length > 0) && Arrays.equals(discF, rdb), ctx,
                            "S5+S8 ended gracefully (FIN before RST): all data and the whole disconnect data expected;"
                                    + " got " + got + " of " + total + " bytes, " + rdb.length + " of " + discF.length
                                    + " disconnect bytes, " + ev);
                } else {
                    check(ev.errorCode() == WsaError.WSAECONNRESET, ctx, "S5+S8: graceful or WSAECONNRESET, got " + ev);
                    check(rdb.length == 0 || Arrays.equals(discF, rdb), ctx,
                            "S5+S8: disconnect data must be all (" + discF.length + " bytes) or nothing, got "
                                    + rdb.length + " bytes" + (rdb.length == discF.length ? " (same length, other content)" : ""));
                }
            } else if (abortive) {
                check(ev.errorCode() == WsaError.WSAECONNRESET, ctx, "abortive close: reader's event must be WSAECONNRESET: " + ev);
                check(!ev.hasDisconnectData() && rdb.length == 0, ctx, "S8: no disconnect data was sent, got "
                        + rdb.length + " bytes, " + ev);
            } else {
                check(ev.errorCode() == 0, ctx, "graceful ending: reader's event must be graceful: " + ev);
                byte[] want = ending == Ending.S5 ? discF : new byte[0];
                // an empty DISCONNECT frame (S6) and a FIN alone are the same: no disconnect data
                boolean frame = want.length > 0;
                check(ev.hasDisconnectData() == frame, ctx, "hasDisconnectData should be " + frame + ": " + ev);
                check(Arrays.equals(want, rdb), ctx, "disconnect data: want " + want.length + " bytes, got "
                        + rdb.length + (rdb.length == want.length ? " (other content)" : ""));
            }

            // --- both closed; each saw exactly one close event (R5)
            b.close();
            if (a.isOpen()) {
                if (!abortive && ending != Ending.S7 && ending != Ending.S9) {
                    CloseEvent aev;
                    try {
                        aev = a.closeFuture().get(It.WAIT_S, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.TimeoutException e) {
                        throw new AssertionError(ctx + " sender's close event after the reader closed did not come");
                    }
                    check(aev.origin() == CloseEvent.Origin.PEER && aev.errorCode() == 0, ctx,
                            "sender sees the reader's graceful close: " + aev);
                }
                a.close();
            }
            // listeners run on the event threads, possibly just after the future completed
            long until = System.nanoTime() + It.WAIT.toNanos();
            while ((aEvents.get() == 0 || bEvents.get() == 0) && System.nanoTime() < until) Thread.sleep(1);
            check(aEvents.get() == 1 && bEvents.get() == 1, ctx,
                    "one close event each, got sender " + aEvents.get() + ", reader " + bEvents.get());
        } finally {
            if (client.isOpen()) It.closeQuietly(() -> client.close(Linger.abortive()));
            if (accepted.isOpen()) It.closeQuietly(() -> accepted.close(Linger.abortive()));
        }
    }

    private static ByteBuffer chunk(long from, int n, boolean direct) {
        ByteBuffer b = direct ? ByteBuffer.allocateDirect(n) : ByteBuffer.allocate(n);
        for (int k = 0; k < n; k++) b.put(It.pat(from + k));
        return b.flip();
    }

    private static ByteBuffer directCopy(byte[] d) {
        return ByteBuffer.allocateDirect(d.length).put(d).flip();
    }

    /**
     * Reads until the end; checks every byte against the pattern and, in MESSAGE mode, every boundary.
     * Graceful: all {@code total} bytes, then -1 / WSAEDISCON. Abortive: a correct prefix, then
     * WSAECONNRESET. Returns the bytes read.
     */
    private static long readAll(Connection b, Mode mode, int[] sizes, long total, boolean abortive,
            boolean eitherEnd, String ctx)
            throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024 + 1);
        long off = 0;
        int msg = 0;
        try {
            while (true) {
                buf.clear();
                int n = b.read(buf, It.WAIT);
                if (n < 0) {
                    check(mode == Mode.STREAM, ctx, "read returned " + n + " in MESSAGE mode");
                    break;
                }
                if (mode == Mode.MESSAGE) {
                    check(msg < sizes.length, ctx, "an extra message of " + n + " bytes after " + msg + " messages");
                    check(n == sizes[msg], ctx, "message " + msg + " has " + n + " bytes, sent " + sizes[msg]);
                    msg++;
                }
                buf.flip();
                for (int k = 0; k < n; k++, off++) {
                    byte got = buf.get();
                    if (got != It.pat(off)) {
                        throw new AssertionError(ctx + " byte at offset " + off + " is " + got + ", expected " + It.pat(off));
                    }
                }
                check(off <= total, ctx, "read " + off + " bytes, only " + total + " were sent");
            }
        } catch (DisconnectedException e) {
            check(mode == Mode.MESSAGE, ctx, "WSAEDISCON in STREAM mode");
            check(!abortive || eitherEnd, ctx, "abortive close reported as graceful (WSAEDISCON) after " + off + " of " + total + " bytes");
            check(msg == sizes.length && off == total, ctx, "graceful end after " + msg + " of " + sizes.length
                    + " messages, " + off + " of " + total + " bytes");
            return off;
        } catch (ConnectionResetException e) {
            check(abortive, ctx, "graceful ending reported as WSAECONNRESET after " + off + " of " + total + " bytes");
            return off;
        } catch (WsdxException e) {
            throw new AssertionError(ctx + " read failed with " + e.wsaName() + " after " + off + " of " + total
                    + " bytes: " + e, e);
        }
        // stream end (-1)
        check(!abortive || eitherEnd, ctx, "abortive close reported as graceful (end of stream) after " + off + " of " + total + " bytes");
        check(off == total, ctx, "graceful end after " + off + " of " + total + " bytes");
        return off;
    }
}
