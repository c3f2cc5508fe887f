package dev.wsdx.bench;

import dev.wsdx.Connection;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.StringReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark table of BENCHMARKS.md. Every figure is taken in {@code bench.rounds} rounds; a
 * round measures wsdx and then each baseline (the raw-C ones by running bench_c), so that wsdx and
 * its baselines alternate and a slow phase of the machine hits both. Started by {@code bash bench/run.sh}.
 */
public final class Bench {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);
    private static final Table T = new Table();

    private Bench() {}

    public static void main(String[] args) throws Exception {
        int rounds = Integer.getInteger("bench.rounds", 5);
        int churn = Integer.getInteger("bench.churn", 1000);
        figure(1, () -> closeNotice(rounds, Integer.getInteger("bench.closes", 2000)));
        figure(2, () -> throughput(rounds, Long.getLong("bench.bytes", 256L << 20)));
        figure(3, () -> {
            churn(rounds, 1, churn);
            churn(rounds, 64, churn);
        });
        figure(4, () -> scale(rounds, Integer.getInteger("bench.scale", 9000)));
        figure(5, () -> calls(rounds, Integer.getInteger("bench.calls", 100_000)));
        figure(6, () -> sessions(rounds, Integer.getInteger("bench.sessions", 10_000),
                Integer.getInteger("bench.sessionTimeout", 120)));
        T.print();
    }

    interface Figure {
        void run() throws Exception;
    }

    /** Runs figure {@code n} unless bench.only (e.g. "1,6") leaves it out; says on stderr how long it took. */
    private static void figure(int n, Figure f) throws Exception {
        String only = System.getProperty("bench.only", "");
        if (!only.isEmpty() && !Arrays.asList(only.split(",")).contains(String.valueOf(n))) return;
        long t0 = System.nanoTime();
        f.run();
        System.err.printf("figure %d: %.1f s%n", n, (System.nanoTime() - t0) / 1e9);
    }

    /** One run of bench_c (built by bench/run.sh) as key=value figures. */
    private static Properties benchC(String what, int n) throws Exception {
        Process p = new ProcessBuilder(System.getProperty("bench.cbin"), what, String.valueOf(n))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        if (p.waitFor() != 0) throw new IOException("bench_c " + what + " failed: " + p.exitValue());
        Properties c = new Properties();
        c.load(new StringReader(out));
        return c;
    }

    // ------------------------------------------------------------ 1. close notice

    private static void closeNotice(int rounds, int n) throws Exception {
        EventLoopGroup loop = NettyPeers.group(1);
        try {
            for (int r = 0; r < rounds; r++) {
                for (String kind : new String[] {"graceful", "reset"}) {
                    boolean reset = kind.equals("reset");
                    latencies("close." + kind + ".wsdx", CloseNotice.wsdx(n, reset, 0));
                    latencies("close." + kind + ".jdk", CloseNotice.jdk(n, reset));
                    latencies("close." + kind + ".netty", CloseNotice.netty(n, reset, loop));
                }
                Properties c = benchC("close", n);
                for (String kind : new String[] {"graceful", "reset"}) {
                    T.add("close." + kind + ".c.median", Double.parseDouble(c.getProperty("close.epoll." + kind + ".median")));
                    T.add("close." + kind + ".c.p99", Double.parseDouble(c.getProperty("close.epoll." + kind + ".p99")));
                }
            }
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        for (String kind : new String[] {"graceful", "reset"}) {
            String k = "close." + kind;
            String what = "close notice, " + kind;
            String netty = kind.equals("reset") ? "Netty epoll (channelInactive)" : "Netty epoll (input shutdown event)";
            T.row("1", what + ", median", k + ".wsdx.median", "JDK Selector", k + ".jdk.median", Table::us, "<= 1.0");
            T.row("1", what + ", median", k + ".wsdx.median", netty, k + ".netty.median", Table::us, "<= 1.0");
            T.row("1", what + ", median", k + ".wsdx.median", "raw C epoll", k + ".c.median", Table::us, "<= 1.5");
            T.row("1", what + ", p99", k + ".wsdx.p99", "JDK Selector", k + ".jdk.p99", Table::us, "<= 1.5");
            T.row("1", what + ", p99", k + ".wsdx.p99", netty, k + ".netty.p99", Table::us, "-");
        }
    }

    private static void latencies(String key, long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        T.add(key + ".median", s[s.length / 2]);
        T.add(key + ".p99", s[s.length * 99 / 100]);
    }

    // ------------------------------------------------------------ 2. throughput

    private static void throughput(int rounds, long total) throws Exception {
        for (int r = 0; r < rounds; r++) {
            T.add("throughput.wsdx", wsdxThroughput(total));
            T.add("throughput.jdk", jdkThroughput(total));
        }
        T.row("2", "stream throughput, 64 KiB writes, " + (total >> 20) + " MiB", "throughput.wsdx",
                "JDK SocketChannel", "throughput.jdk", Table::mibs, ">= 1.0");
    }

    private static double wsdxThroughput(long total) throws Exception {
        try (Server server = Server.bind(LOOPBACK, Mode.STREAM);
                Connection out = Connection.open(new InetSocketAddress("127.0.0.1", server.localPort()), Mode.STREAM);
                Connection in = server.accept()) {
            return pump(total, b -> out.write(b), b -> in.read(b));
        }
    }

    private static double jdkThroughput(long total) throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(LOOPBACK);
                SocketChannel out = SocketChannel.open(server.getLocalAddress());
                SocketChannel in = server.accept()) {
            return pump(total, out::write, in::read);
        }
    }

    interface Io {
        int apply(ByteBuffer b) throws IOException;
    }

    /** Bytes per second moving total bytes in 64 KiB writes, a reader thread on the other end. */
    private static double pump(long total, Io write, Io read) throws Exception {
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            Future<Long> got = reader.submit(() -> {
                ByteBuffer b = ByteBuffer.allocateDirect(64 * 1024);
                long n = 0;
                while (n < total) {
                    b.clear();
                    int r = read.apply(b);
                    if (r < 0) break;
                    n += r;
                }
                return n;
            });
            ByteBuffer b = ByteBuffer.allocateDirect(64 * 1024);
            long t0 = System.nanoTime();
            for (long sent = 0; sent < total; ) {
                b.clear();
                while (b.hasRemaining()) sent += write.apply(b);
            }
            if (got.get() < total) throw new IllegalStateException("short read");
            return total / ((System.nanoTime() - t0) / 1e9);
        } finally {
            reader.shutdownNow();
        }
    }

    // ------------------------------------------------------------ 3. churn

    private static void churn(int rounds, int clients, int total) throws Exception {
        String k = "churn." + clients;
        for (int r = 0; r < rounds; r++) {
            T.add(k + ".wsdx", Churn.wsdx(clients, total));
            T.add(k + ".jdk", Churn.jdk(clients, total));
            T.add(k + ".netty", Churn.netty(clients, total));
            if (clients == 1) T.add(k + ".c", Double.parseDouble(benchC("churn", total).getProperty("churn.c.per_s")));
        }
        String what = "churn, seed scenario per connection, " + clients + " client" + (clients > 1 ? "s" : "");
        T.row("3", what, k + ".wsdx", "JDK, the same exchanges in plain TCP", k + ".jdk", Table::perS, ">= 0.8");
        T.row("3", what, k + ".wsdx", "Netty epoll, the same exchanges in plain TCP", k + ".netty", Table::perS, "-");
        if (clients == 1) T.row("3", what, k + ".wsdx", "wsdx from C, same scenario", k + ".c", Table::perS, "-");
    }

    // ------------------------------------------------------------ 4. scale

    private static void scale(int rounds, int connections) throws Exception {
        int n = Math.max(200, Integer.getInteger("bench.closes", 2000) / 2);
        for (int r = 0; r < rounds; r++) {
            T.add("scale.big", Table.median(Arrays.stream(CloseNotice.wsdx(n, false, connections)).asDoubleStream().toArray()));
            T.add("scale.small", Table.median(Arrays.stream(CloseNotice.wsdx(n, false, 100)).asDoubleStream().toArray()));
            Properties c = benchC("memory", 4000);
            T.add("memory", Double.parseDouble(c.getProperty("memory.bytes_per_socket")));
        }
        T.row("4", "close notice median with " + connections + " connections open (both ends in-process)",
                "scale.big", "same, 100 open", "scale.small", Table::us, "<= 1.2");
        T.rowFixed("4", "native heap per idle connection (8000 sockets, mallinfo2)", "memory", "target", 512,
                Table::bytes, "<= 1.0");
    }

    // ------------------------------------------------------------ 5. JNA boundary

    private static void calls(int rounds, int n) throws Exception {
        try (Server server = Server.bind(LOOPBACK, Mode.STREAM);
                Connection out = Connection.open(new InetSocketAddress("127.0.0.1", server.localPort()), Mode.STREAM);
                Connection in = server.accept()) {
            ByteBuffer w = ByteBuffer.allocateDirect(16);
            ByteBuffer r = ByteBuffer.allocateDirect(16);
            for (int round = -1; round < rounds; round++) { // round -1 warms the JIT
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    w.clear();
                    out.write(w);
                    r.clear();
                    while (r.hasRemaining()) in.read(r);
                }
                if (round < 0) continue;
                T.add("calls.java", (System.nanoTime() - t0) / (double) n);
                T.add("calls.c", Double.parseDouble(benchC("calls", n).getProperty("calls.c.ns")));
            }
        }
        T.row("5", "send + recv of 16 bytes through the Java API", "calls.java", "same calls from C", "calls.c",
                Table::ns, "<= 1.2");
    }

    // ------------------------------------------------------------ 6. event-driven sessions

    /** A stall or failure ends the row after that round, which the row names with how far it got. */
    private static void sessions(int rounds, int n, int timeoutS) throws Exception {
        try (Sessions s = new Sessions()) {
            int warm = Math.min(n, 200); // class loading and JIT of both stacks in both JVMs, untimed
            s.wsdx(warm, Math.min(timeoutS, 10));
            s.netty(warm, Math.min(timeoutS, 10));
            for (int r = 0; r < rounds; r++) {
                String w = s.wsdx(n, timeoutS);
                String b = s.netty(n, timeoutS);
                if (w.startsWith("DONE")) T.add("sessions.wsdx", sessionsPerS(w));
                else T.note("sessions.wsdx", failure(w, r));
                if (b.startsWith("DONE")) T.add("sessions.netty", sessionsPerS(b));
                else T.note("sessions.netty", failure(b, r));
                if (!w.startsWith("DONE") || !b.startsWith("DONE")) break;
            }
        }
        T.row("6", n + " concurrent seed sessions, server event-driven on 4 threads", "sessions.wsdx",
                "Netty epoll, the same exchanges in plain TCP", "sessions.netty", Table::perS, ">= 0.8");
    }

    /** "STALLED 5234 of 10000" as "stalled (5234 of 10000 done) in round 2"; other failures as they are. */
    private static String failure(String answer, int round) {
        String why = answer.startsWith("STALLED ")
                ? "stalled (" + answer.substring(8).replaceFirst("^(\\d+ of \\d+)", "$1 done") + ")" : answer;
        return why + " in round " + (round + 1);
    }

    private static double sessionsPerS(String done) {
        String[] a = done.split(" ");
        return Integer.parseInt(a[1]) / (Long.parseLong(a[2]) / 1e9);
    }
}
