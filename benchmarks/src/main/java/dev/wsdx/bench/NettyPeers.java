package dev.wsdx.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;

/**
 * Netty epoll (4.2.18.Final) doing the seed scenario's exchanges in plain TCP with half-closes:
 * the client optionally sends 8 bytes and waits for their echo (the churn's "8 bytes each way"),
 * then sends its longs and shuts its output down (wsdx's records and disconnect data); the server
 * answers the sum of those longs as its summary and closes; the client checks it.
 */
final class NettyPeers {
    private NettyPeers() {}

    static EventLoopGroup group(int threads) {
        Epoll.ensureAvailability();
        return new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
    }

    /** A seed server on 127.0.0.1, any port; {@code echo} bytes are echoed first (0: none). */
    static Channel server(EventLoopGroup boss, EventLoopGroup workers, int echo) throws InterruptedException {
        return new ServerBootstrap().group(boss, workers).channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new Server(echo));
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    static Bootstrap client(EventLoopGroup group) {
        return new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
    }

    /** Consumes up to {@code left} bytes of the echo phase from {@code in}; returns how many are still to come. */
    private static int skipEcho(ByteBuf in, int left) {
        int n = Math.min(left, in.readableBytes());
        in.skipBytes(n);
        return left - n;
    }

    /** The server's side: echo, then sum the longs up to the client's half-close, answer the sum, close. */
    static final class Server extends ChannelInboundHandlerAdapter {
        private int echoLeft;
        private final byte[] partial = new byte[8];
        private int have;
        private long sum;

        Server(int echo) {
            this.echoLeft = echo;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                if (echoLeft > 0 && (echoLeft = skipEcho(in, echoLeft)) == 0) {
                    ctx.writeAndFlush(ctx.alloc().buffer(8).writeLong(1));
                }
                while (in.isReadable()) {
                    partial[have++] = in.readByte();
                    if (have == 8) {
                        sum += java.nio.ByteBuffer.wrap(partial).getLong();
                        have = 0;
                    }
                }
            } finally {
                in.release();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.writeAndFlush(ctx.alloc().buffer(8).writeLong(sum)).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** The client's side; {@link #done} completes once the summary and the server's close arrived. */
    static final class Client extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Void> done = new CompletableFuture<>();
        private final int echo;
        private final long[] longs;
        private final boolean startOnActive;
        private int echoLeft;
        private final byte[] reply = new byte[8];
        private int have;

        /** Sends {@code echo} bytes first and waits for them (0: none), then {@code longs}; expects their sum. */
        Client(int echo, long[] longs, boolean startOnActive) {
            this.echo = echo;
            this.echoLeft = echo;
            this.longs = longs;
            this.startOnActive = startOnActive;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (startOnActive) start(ctx.channel());
        }

        /** Starts the exchange (on the channel's event loop). */
        void start(Channel ch) {
            if (echo > 0) ch.writeAndFlush(ch.alloc().buffer(echo).writeZero(echo));
            else sendLongs(ch);
        }

        private void sendLongs(Channel ch) {
            ByteBuf b = ch.alloc().buffer(8 * longs.length);
            for (long v : longs) b.writeLong(v);
            ch.writeAndFlush(b).addListener(f -> ((SocketChannel) ch).shutdownOutput());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                if (echoLeft > 0 && (echoLeft = skipEcho(in, echoLeft)) == 0) sendLongs(ctx.channel());
                int n = Math.min(in.readableBytes(), 8 - have);
                in.readBytes(reply, have, n);
                have += n;
                if (in.isReadable()) done.completeExceptionally(new IllegalStateException("more than the summary"));
            } finally {
                in.release();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                long sum = 0;
                for (long v : longs) sum += v;
                if (echoLeft > 0 || have != 8 || java.nio.ByteBuffer.wrap(reply).getLong() != sum) {
                    done.completeExceptionally(new IllegalStateException("summary " + have + " bytes, want " + sum));
                } else {
                    done.complete(null);
                }
                ctx.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            done.completeExceptionally(new IllegalStateException("closed before the summary"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            done.completeExceptionally(cause);
            ctx.close();
        }
    }
}
