package dev.wsdx.bench;

import dev.wsdx.Connection;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Child JVM main for figure 6 (the 10,000-session row; each side's 10,000 descriptors fit the
 * 20,000-descriptor limit only in a process of its own). Reads commands "wsdx|netty PORT N
 * TIMEOUT_S" from stdin; per command: 4 threads open all N connections, then all N sessions run at
 * once on 4 threads (each sends 4 records, ends with their total, and expects twice the total as
 * the server's summary). Answers "DONE N NANOS" (first open to last session done), or
 * "STALLED DONE_COUNT of N, why" when 10 s passed without a session finishing or TIMEOUT_S passed.
 */
public final class SessionClients {
    static final int RECORDS = 4;
    private static final int THREADS = 4;
    private static final long IDLE_NS = TimeUnit.SECONDS.toNanos(10);

    private SessionClients() {}

    public static void main(String[] args) throws Exception {
        ExecutorService io = Executors.newFixedThreadPool(THREADS, daemon("client-io"));
        EventLoopGroup loops = NettyPeers.group(THREADS);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            String[] a = line.trim().split(" ");
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", Integer.parseInt(a[1]));
            int n = Integer.parseInt(a[2]);
            long give = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(a[3]));
            System.out.println(a[0].equals("wsdx") ? wsdx(at, n, io, give) : netty(at, n, loops, give));
            System.out.flush();
        }
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        io.shutdownNow();
    }

    static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Record k of session i, and a session's longs as the Netty client sends them (records, then their total). */
    static long[] longs(int i) {
        long[] v = new long[RECORDS + 1];
        for (int k = 0; k < RECORDS; k++) {
            v[k] = i * 10L + k;
            v[RECORDS] += v[k];
        }
        return v;
    }

    private static String wsdx(InetSocketAddress at, int n, ExecutorService io, long give) throws Exception {
        Connection[] cs = new Connection[n];
        AtomicInteger opened = new AtomicInteger();
        CompletableFuture<?>[] fs = new CompletableFuture<?>[n];
        AtomicInteger done = new AtomicInteger();
        long t0 = System.nanoTime();
        try {
            if (!opened(n, give, i -> {
                cs[i] = Connection.open(at, Mode.STREAM, Duration.ofSeconds(10)).executor(io);
                opened.incrementAndGet();
            })) {
                return "STALLED 0 of " + n + ", " + opened.get() + " opened";
            }
            for (int i = 0; i < n; i++) fs[i] = session(cs[i], longs(i)).thenRun(done::incrementAndGet);
            return finish(fs, n, t0, give, done);
        } finally {
            for (Connection c : cs) {
                if (c != null && c.isOpen()) c.close(Linger.abortive());
            }
        }
    }

    private static CompletableFuture<Void> session(Connection c, long[] v) {
        ByteBuffer recs = ByteBuffer.allocate(8 * RECORDS);
        for (int k = 0; k < RECORDS; k++) recs.putLong(v[k]);
        long total = v[RECORDS];
        return c.writeAsync(recs.flip())
                .thenCompose(w -> c.sendDisconnectAsync(ByteBuffer.allocate(8).putLong(0, total)))
                .thenCompose(x -> c.receiveDisconnectAsync())
                .thenAccept(ack -> {
                    try {
                        c.close(Linger.dontLinger());
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    if (ack.remaining() != 8 || ack.getLong(0) != 2 * total) throw new IllegalStateException("ack " + ack);
                });
    }

    private static String netty(InetSocketAddress at, int n, EventLoopGroup loops, long give) throws Exception {
        Bootstrap b = NettyPeers.client(loops);
        Channel[] chs = new Channel[n];
        NettyPeers.Client[] hs = new NettyPeers.Client[n];
        CompletableFuture<?>[] fs = new CompletableFuture<?>[n];
        AtomicInteger done = new AtomicInteger();
        AtomicInteger opened = new AtomicInteger();
        long t0 = System.nanoTime();
        try {
            if (!opened(n, give, i -> {
                hs[i] = new NettyPeers.Client(0, longs(i), false);
                chs[i] = b.clone().handler(hs[i]).connect(at).sync().channel();
                opened.incrementAndGet();
            })) {
                return "STALLED 0 of " + n + ", " + opened.get() + " opened";
            }
            for (int i = 0; i < n; i++) {
                int k = i;
                chs[i].eventLoop().execute(() -> hs[k].start(chs[k]));
                fs[i] = hs[i].done.thenRun(done::incrementAndGet);
            }
            return finish(fs, n, t0, give, done);
        } finally {
            for (Channel ch : chs) {
                if (ch != null) ch.close();
            }
        }
    }

    interface Open {
        void open(int i) throws Exception;
    }

    /** Opens connections 0..n-1 on {@link #THREADS} threads; false if that did not end in time. */
    private static boolean opened(int n, long give, Open open) throws Exception {
        ExecutorService openers = Executors.newFixedThreadPool(THREADS, daemon("client-open"));
        try {
            CompletableFuture<?>[] parts = new CompletableFuture<?>[THREADS];
            for (int t = 0; t < THREADS; t++) {
                int first = t;
                parts[t] = CompletableFuture.runAsync(() -> {
                    try {
                        for (int i = first; i < n && System.nanoTime() < give; i += THREADS) open.open(i);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, openers);
            }
            CompletableFuture.allOf(parts).get(Math.max(1, give - System.nanoTime()), TimeUnit.NANOSECONDS);
            return System.nanoTime() < give;
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            return false;
        } finally {
            openers.shutdownNow();
        }
    }

    /**
     * Waits for every session: a stall is {@link #IDLE_NS} without one finishing (a slow machine
     * still makes progress), or the round's time limit passing.
     */
    private static String finish(CompletableFuture<?>[] fs, int n, long t0, long give, AtomicInteger done)
            throws Exception {
        CompletableFuture<Void> all = CompletableFuture.allOf(fs);
        int last = -1;
        long lastAt = System.nanoTime();
        while (true) {
            try {
                all.get(200, TimeUnit.MILLISECONDS);
                return "DONE " + n + " " + (System.nanoTime() - t0);
            } catch (TimeoutException e) {
                long now = System.nanoTime();
                int d = done.get();
                if (d != last) {
                    last = d;
                    lastAt = now;
                }
                if (now - lastAt > IDLE_NS) return "STALLED " + d + " of " + n + ", none for 10 s";
                if (now > give) return "STALLED " + d + " of " + n + ", over the round's time limit";
            } catch (java.util.concurrent.ExecutionException e) {
                return "FAILED " + done.get() + " of " + n + ": " + e.getCause();
            }
        }
    }
}
