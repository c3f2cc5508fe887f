package dev.wsdx.bench;

import dev.wsdx.Connection;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import java.io.FileReader;
import java.io.IOException;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The benchmark table of BENCHMARKS.md: each figure measured for wsdx and for its baseline in this
 * one process (the raw-C figures come from bench_c in the same script run), printed with the ratio.
 * Started by {@code bash bench/run.sh}.
 */
public final class Bench {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);
    private static final List<String[]> ROWS = new ArrayList<>();

    private Bench() {}

    public static void main(String[] args) throws Exception {
        Properties c = new Properties();
        try (Reader r = new FileReader(System.getProperty("bench.c"))) {
            c.load(r);
        }
        int closes = Integer.getInteger("bench.closes", 10_000);
        closeNotice(closes, false, c);
        closeNotice(closes, true, c);
        throughput(Long.getLong("bench.bytes", 1L << 30));
        churn(1, Integer.getInteger("bench.churn", 3000), c);
        churn(64, Integer.getInteger("bench.churn", 3000), null);
        scale(Integer.getInteger("bench.scale", 9000), c);
        calls(200_000, c);
        print();
    }

    // ------------------------------------------------------------ 1. close notice

    private static void closeNotice(int n, boolean reset, Properties c) throws Exception {
        String kind = reset ? "reset" : "graceful";
        long[] wsdx = wsdxCloseLatencies(n, reset, 0);
        long[] jdk = jdkCloseLatencies(n, reset);
        long cMedian = Long.parseLong(c.getProperty("close.epoll." + kind + ".median"));
        long cP99 = Long.parseLong(c.getProperty("close.epoll." + kind + ".p99"));
        row("1", "close notice, " + kind + ", median", us(median(wsdx)), "JDK Selector", us(median(jdk)),
                median(wsdx) / (double) median(jdk), "<= 1.2");
        row("1", "close notice, " + kind + ", median", us(median(wsdx)), "raw C epoll", us(cMedian),
                median(wsdx) / (double) cMedian, "<= 2.0");
        row("1", "close notice, " + kind + ", p99", us(p99(wsdx)), "JDK Selector", us(p99(jdk)),
                p99(wsdx) / (double) p99(jdk), "-");
        row("1", "close notice, " + kind + ", p99", us(p99(wsdx)), "raw C epoll", us(cP99),
                p99(wsdx) / (double) cP99, "-");
    }

    /** Peer closes at t0; the local close listener records t1. {@code idle} more connections stay open meanwhile. */
    static long[] wsdxCloseLatencies(int n, boolean reset, int idle) throws Exception {
        long[] lat = new long[n];
        AtomicLong seen = new AtomicLong();
        try (Server server = Server.bind(LOOPBACK, Mode.STREAM, 4096)) {
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", server.localPort());
            List<Connection> held = new ArrayList<>();
            for (int i = 0; i < idle; i++) {
                held.add(Connection.open(at, Mode.STREAM));
                held.add(server.accept());
            }
            int batch = 500;
            for (int done = 0; done < n; done += batch) {
                int m = Math.min(batch, n - done);
                Connection[] local = new Connection[m];
                Connection[] peer = new Connection[m];
                for (int i = 0; i < m; i++) {
                    local[i] = Connection.open(at, Mode.STREAM)
                            .onClose((conn, e) -> seen.set(System.nanoTime()), Runnable::run);
                    peer[i] = server.accept();
                }
                for (int i = 0; i < m; i++) {
                    seen.set(0);
                    if (reset) peer[i].setLinger(Linger.abortive()); // set before t0, as the JDK side does
                    long t0 = System.nanoTime();
                    peer[i].close();
                    long t1;
                    while ((t1 = seen.get()) == 0) Thread.onSpinWait();
                    lat[done + i] = t1 - t0;
                    local[i].close();
                }
            }
            for (Connection h : held) h.close();
        }
        return lat;
    }

    private static long[] jdkCloseLatencies(int n, boolean reset) throws Exception {
        long[] lat = new long[n];
        AtomicLong seen = new AtomicLong();
        ConcurrentLinkedQueue<SocketChannel> toRegister = new ConcurrentLinkedQueue<>();
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(LOOPBACK, 4096);
                Selector selector = Selector.open()) {
            Thread loop = new Thread(() -> selectLoop(selector, toRegister, seen), "jdk-selector");
            loop.setDaemon(true);
            loop.start();
            for (int i = 0; i < n; i++) {
                SocketChannel local = SocketChannel.open(server.getLocalAddress());
                SocketChannel peer = server.accept();
                local.configureBlocking(false);
                seen.set(-1);
                toRegister.add(local);
                selector.wakeup();
                while (seen.get() == -1) Thread.onSpinWait(); // registered
                if (reset) peer.setOption(StandardSocketOptions.SO_LINGER, 0);
                long t0 = System.nanoTime();
                peer.close();
                long t1;
                while ((t1 = seen.get()) == 0) Thread.onSpinWait();
                lat[i] = t1 - t0;
                local.close();
            }
            loop.interrupt();
            selector.wakeup();
        }
        return lat;
    }

    private static void selectLoop(Selector selector, ConcurrentLinkedQueue<SocketChannel> toRegister, AtomicLong seen) {
        ByteBuffer buf = ByteBuffer.allocateDirect(4096);
        try {
            while (!Thread.currentThread().isInterrupted()) {
                selector.select();
                for (SocketChannel ch; (ch = toRegister.poll()) != null; ) {
                    ch.register(selector, SelectionKey.OP_READ);
                    seen.set(0);
                }
                for (SelectionKey k : selector.selectedKeys()) {
                    int r;
                    try {
                        buf.clear();
                        r = ((SocketChannel) k.channel()).read(buf);
                    } catch (IOException e) {
                        r = -1; // reset
                    }
                    if (r < 0) {
                        seen.set(System.nanoTime());
                        k.cancel();
                    }
                }
                selector.selectedKeys().clear();
            }
        } catch (IOException | java.nio.channels.ClosedSelectorException e) {
            // the benchmark is over
        }
    }

    // ------------------------------------------------------------ 2. throughput

    private static void throughput(long total) throws Exception {
        double wsdx = wsdxThroughput(total);
        double jdk = jdkThroughput(total);
        row("2", "stream throughput, 64 KiB writes, " + (total >> 20) + " MiB", mibs(wsdx), "JDK SocketChannel",
                mibs(jdk), wsdx / jdk, ">= 0.9");
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

    private static void churn(int clients, int total, Properties c) throws Exception {
        double wsdx = wsdxChurn(clients, total);
        double jdk = jdkChurn(clients, total, false);
        double jdkSame = jdkChurn(clients, total, true);
        String what = "churn, seed scenario per connection, " + clients + " client" + (clients > 1 ? "s" : "");
        row("3", what, String.format("%.0f conn/s", wsdx), "JDK connect/write/close", String.format("%.0f conn/s", jdk),
                wsdx / jdk, ">= 0.7");
        row("3", what, String.format("%.0f conn/s", wsdx), "JDK, the same exchanges in plain TCP",
                String.format("%.0f conn/s", jdkSame), wsdx / jdkSame, "-");
        if (c != null) { // where the time goes: the same scenario through wsdx.h from C
            double fromC = Double.parseDouble(c.getProperty("churn.c.per_s"));
            row("3", what, String.format("%.0f conn/s", wsdx), "wsdx from C, same scenario",
                    String.format("%.0f conn/s", fromC), wsdx / fromC, "-");
        }
    }

    private static double wsdxChurn(int clients, int total) throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (Server server = Server.bind(LOOPBACK, Mode.STREAM, 4096)) {
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", server.localPort());
            pool.submit(() -> {
                while (true) {
                    Connection conn = server.accept();
                    pool.submit(() -> serveSeed(conn));
                }
            });
            return timed(clients, total, pool, () -> {
                try (Connection conn = Connection.open(at, Mode.STREAM)) {
                    ByteBuffer b = ByteBuffer.allocate(8).putLong(0, 1);
                    conn.write(b);
                    readFully(conn, ByteBuffer.allocate(8));
                    conn.sendDisconnect(ByteBuffer.allocate(8).putLong(0, 1));
                    if (conn.read(ByteBuffer.allocate(1)) != -1) throw new IllegalStateException("data after close");
                    if (conn.receiveDisconnect().remaining() != 8) throw new IllegalStateException("no total");
                }
                return null;
            });
        } finally {
            pool.shutdownNow();
        }
    }

    private static Object serveSeed(Connection conn) throws IOException {
        try (conn) {
            ByteBuffer b = ByteBuffer.allocate(8);
            readFully(conn, b);
            conn.write(b.flip());
            if (conn.read(ByteBuffer.allocate(1)) != -1) throw new IllegalStateException("data after close");
            long total = conn.receiveDisconnect().getLong();
            conn.sendDisconnect(ByteBuffer.allocate(8).putLong(0, total));
        }
        return null;
    }

    private static void readFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) throw new IllegalStateException("closed early");
        }
    }

    private static void readFully(Connection conn, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (conn.read(b) < 0) throw new IllegalStateException("closed early");
        }
    }

    /**
     * The JDK baselines: a plain connect/write/close loop (the issue's), or, with {@code same}, the
     * seed's exchanges in plain TCP: 8 bytes each way, then 8 "disconnect" bytes each way, each
     * followed by a half-close, as wsdx does them.
     */
    private static double jdkChurn(int clients, int total, boolean same) throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(LOOPBACK, 4096)) {
            pool.submit(() -> {
                while (true) {
                    SocketChannel ch = server.accept();
                    pool.submit(() -> {
                        try (ch) {
                            ByteBuffer b = ByteBuffer.allocate(64);
                            if (same) {
                                readFully(ch, ByteBuffer.allocate(8));
                                ch.write(ByteBuffer.allocate(8));
                                readFully(ch, ByteBuffer.allocate(8));
                            }
                            while (ch.read(b) >= 0) b.clear();
                            if (same) ch.write(ByteBuffer.allocate(8));
                        }
                        return null;
                    });
                }
            });
            return timed(clients, total, pool, () -> {
                try (SocketChannel ch = SocketChannel.open(server.getLocalAddress())) {
                    ch.write(ByteBuffer.allocate(8).putLong(0, 1));
                    if (same) {
                        readFully(ch, ByteBuffer.allocate(8));
                        ch.write(ByteBuffer.allocate(8));
                        ch.shutdownOutput();
                        readFully(ch, ByteBuffer.allocate(8));
                        if (ch.read(ByteBuffer.allocate(1)) != -1) throw new IllegalStateException("data after close");
                    }
                }
                return null;
            });
        } finally {
            pool.shutdownNow();
        }
    }

    /** Connections per second: total runs of one, spread over {@code clients} threads. */
    private static double timed(int clients, int total, ExecutorService pool, java.util.concurrent.Callable<?> one)
            throws Exception {
        for (int i = 0; i < Math.min(200, total); i++) one.call(); // warm-up
        List<Future<?>> fs = new ArrayList<>();
        long t0 = System.nanoTime();
        int each = total / clients;
        for (int c = 0; c < clients; c++) {
            fs.add(pool.submit(() -> {
                for (int i = 0; i < each; i++) one.call();
                return null;
            }));
        }
        for (Future<?> f : fs) f.get();
        return each * clients / ((System.nanoTime() - t0) / 1e9);
    }

    // ------------------------------------------------------------ 4. scale

    private static void scale(int connections, Properties c) throws Exception {
        long[] small = wsdxCloseLatencies(1000, false, 100);
        long[] big = wsdxCloseLatencies(1000, false, connections);
        row("4", "close notice median with " + connections + " connections open (both ends in-process)",
                us(median(big)), "same, 100 open", us(median(small)), median(big) / (double) median(small), "<= 2.0");
        long perSocket = Long.parseLong(c.getProperty("memory.bytes_per_socket"));
        row("4", "native heap per idle connection (" + c.getProperty("memory.connections") + " sockets, mallinfo2)",
                perSocket + " B", "target", "512 B", perSocket / 512.0, "<= 1.0");
    }

    // ------------------------------------------------------------ 5. JNA boundary

    private static void calls(int n, Properties c) throws Exception {
        try (Server server = Server.bind(LOOPBACK, Mode.STREAM);
                Connection out = Connection.open(new InetSocketAddress("127.0.0.1", server.localPort()), Mode.STREAM);
                Connection in = server.accept()) {
            ByteBuffer w = ByteBuffer.allocateDirect(16);
            ByteBuffer r = ByteBuffer.allocateDirect(16);
            for (int round = 0; round < 2; round++) { // the first round warms the JIT
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    w.clear();
                    out.write(w);
                    r.clear();
                    while (r.hasRemaining()) in.read(r);
                }
                long ns = (System.nanoTime() - t0) / n;
                if (round == 1) {
                    long cNs = Long.parseLong(c.getProperty("calls.c.ns"));
                    row("5", "send + recv of 16 bytes through the Java API", ns + " ns", "same calls from C",
                            cNs + " ns", ns / (double) cNs, "-");
                }
            }
        }
    }

    // ------------------------------------------------------------ table

    private static void row(String fig, String what, String wsdx, String base, String baseValue, double ratio,
            String target) {
        String met = "-";
        if (target.startsWith("<=")) met = ratio <= Double.parseDouble(target.substring(3)) ? "yes" : "NO";
        if (target.startsWith(">=")) met = ratio >= Double.parseDouble(target.substring(3)) ? "yes" : "NO";
        ROWS.add(new String[] {fig, what, wsdx, base + ": " + baseValue, String.format("%.2f", ratio), target, met});
    }

    private static void print() {
        System.out.println("| # | figure | wsdx | baseline | ratio | target | met |");
        System.out.println("|---|--------|------|----------|-------|--------|-----|");
        for (String[] r : ROWS) System.out.println("| " + String.join(" | ", r) + " |");
    }

    private static long median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static long p99(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length * 99 / 100];
    }

    private static String us(long ns) {
        return String.format("%.1f µs", ns / 1000.0);
    }

    private static String mibs(double bytesPerSecond) {
        return String.format("%.0f MiB/s", bytesPerSecond / (1 << 20));
    }
}
