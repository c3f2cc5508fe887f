package dev.wsdx.bench;

import dev.wsdx.Connection;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Figure 1, close notice: per connection, t0 just before the peer's close call (a reset's
 * SO_LINGER 0 is set before t0), t1 where the local side learns of it: wsdx's close listener, the
 * JDK selector loop's read returning -1 or throwing, Netty's channelInactive (reset) or its
 * ChannelInputShutdownEvent with ALLOW_HALF_CLOSURE (graceful). One close at a time, so nothing queues.
 */
final class CloseNotice {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

    private CloseNotice() {}

    /** Spins until the watcher stored a time (10 s at most: a lost notice fails the run instead of hanging it). */
    private static long await(AtomicLong seen) {
        long give = System.nanoTime() + 10_000_000_000L;
        long t;
        while ((t = seen.get()) <= 0) {
            if (System.nanoTime() > give) throw new IllegalStateException("no close notice within 10 s");
            Thread.onSpinWait();
        }
        return t;
    }

    /** Peer closes at t0; the local close listener records t1. {@code idle} more connections stay open meanwhile. */
    static long[] wsdx(int n, boolean reset, int idle) throws Exception {
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
                            .onClose((conn, e) -> seen.set(System.nanoTime()), Connection.NOTIFIER_THREAD);
                    peer[i] = server.accept();
                }
                for (int i = 0; i < m; i++) {
                    seen.set(0);
                    if (reset) peer[i].setLinger(Linger.abortive()); // set before t0, as the JDK side does
                    long t0 = System.nanoTime();
                    peer[i].close();
                    long t1;
                    t1 = await(seen);
                    lat[done + i] = t1 - t0;
                    local[i].close();
                }
            }
            for (Connection h : held) h.close();
        }
        return lat;
    }

    static long[] jdk(int n, boolean reset) throws Exception {
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
                while (seen.get() == -1) Thread.onSpinWait(); // registered (the loop runs)
                if (reset) peer.setOption(StandardSocketOptions.SO_LINGER, 0);
                long t0 = System.nanoTime();
                peer.close();
                long t1;
                t1 = await(seen);
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

    static long[] netty(int n, boolean reset, EventLoopGroup group) throws Exception {
        long[] lat = new long[n];
        AtomicLong seen = new AtomicLong();
        Bootstrap b = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, !reset).handler(new Watcher(reset, seen));
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(LOOPBACK, 4096)) {
            for (int i = 0; i < n; i++) {
                Channel local = b.connect(server.getLocalAddress()).sync().channel();
                SocketChannel peer = server.accept();
                seen.set(0);
                if (reset) peer.setOption(StandardSocketOptions.SO_LINGER, 0);
                long t0 = System.nanoTime();
                peer.close();
                lat[i] = await(seen) - t0;
                local.close().sync();
            }
        }
        return lat;
    }

    /** Stores the time Netty tells of the peer's close: channelInactive (reset), the input shutdown event (graceful). */
    @ChannelHandler.Sharable
    private static final class Watcher extends ChannelInboundHandlerAdapter {
        private final boolean reset;
        private final AtomicLong seen;

        Watcher(boolean reset, AtomicLong seen) {
            this.reset = reset;
            this.seen = seen;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (reset) seen.compareAndSet(0, System.nanoTime());
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (!reset && evt instanceof ChannelInputShutdownEvent) seen.compareAndSet(0, System.nanoTime());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // the reset: channelInactive follows
        }
    }
}
