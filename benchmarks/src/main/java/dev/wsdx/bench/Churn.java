package dev.wsdx.bench;

import dev.wsdx.Connection;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Figure 3, churn: the seed scenario per connection (connect with the preamble exchange, 8 bytes
 * each way, disconnect data each way, both closes) against the same exchanges in plain TCP with
 * half-closes, by the JDK (blocking channels, a thread per accepted connection as the wsdx server
 * here) and by Netty epoll (both ends). {@code clients} threads each run connections one after another.
 */
final class Churn {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

    private Churn() {}

    static double wsdx(int clients, int total) throws Exception {
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
     * The JDK doing the seed's exchanges in plain TCP: 8 bytes each way, then 8 "disconnect" bytes
     * each way, each followed by a half-close, as wsdx does them.
     */
    static double jdk(int clients, int total) throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(LOOPBACK, 4096)) {
            pool.submit(() -> {
                while (true) {
                    SocketChannel ch = server.accept();
                    pool.submit(() -> {
                        try (ch) {
                            ByteBuffer b = ByteBuffer.allocate(64);
                            readFully(ch, ByteBuffer.allocate(8));
                            ch.write(ByteBuffer.allocate(8));
                            readFully(ch, ByteBuffer.allocate(8));
                            while (ch.read(b) >= 0) b.clear();
                            ch.write(ByteBuffer.allocate(8));
                        }
                        return null;
                    });
                }
            });
            return timed(clients, total, pool, () -> {
                try (SocketChannel ch = SocketChannel.open(server.getLocalAddress())) {
                    ch.write(ByteBuffer.allocate(8).putLong(0, 1));
                    readFully(ch, ByteBuffer.allocate(8));
                    ch.write(ByteBuffer.allocate(8));
                    ch.shutdownOutput();
                    readFully(ch, ByteBuffer.allocate(8));
                    if (ch.read(ByteBuffer.allocate(1)) != -1) throw new IllegalStateException("data after close");
                }
                return null;
            });
        } finally {
            pool.shutdownNow();
        }
    }

    /** Connections per second: total runs of one, spread over {@code clients} threads. */
    static double timed(int clients, int total, ExecutorService pool, java.util.concurrent.Callable<?> one)
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

    /** Netty epoll at both ends: each client thread connects, awaits the exchange's end, and goes on. */
    static double netty(int clients, int total) throws Exception {
        EventLoopGroup boss = NettyPeers.group(1);
        EventLoopGroup workers = NettyPeers.group(2);
        EventLoopGroup clientLoops = NettyPeers.group(2);
        ExecutorService pool = Executors.newCachedThreadPool();
        try {
            Channel server = NettyPeers.server(boss, workers, 8);
            Bootstrap b = NettyPeers.client(clientLoops);
            InetSocketAddress at = (InetSocketAddress) server.localAddress();
            return timed(clients, total, pool, () -> {
                NettyPeers.Client h = new NettyPeers.Client(8, new long[] {1}, true);
                Channel ch = b.clone().handler(h).connect(at).sync().channel();
                h.done.get(10, TimeUnit.SECONDS);
                ch.closeFuture().sync();
                return null;
            });
        } finally {
            pool.shutdownNow();
            clientLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
