package dev.wsdx.bench;

import dev.wsdx.Connection;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Figure 6: N concurrent seed sessions (issue 10's scenario) with the server on at most 4 platform
 * threads: wsdx's event-driven API (acceptAsync, readAsync, receiveDisconnectAsync,
 * sendDisconnectAsync) against Netty epoll doing the same exchanges in plain TCP with a
 * half-close. The clients run in a child JVM ({@link SessionClients}), which times each round.
 */
final class Sessions implements AutoCloseable {
    private final Process child;
    private final PrintStream toChild;
    private final BufferedReader fromChild;

    Sessions() throws IOException {
        String java = System.getProperty("java.home") + "/bin/java";
        child = new ProcessBuilder(java, "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
                System.getProperty("java.class.path"), SessionClients.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        toChild = new PrintStream(child.getOutputStream(), true);
        fromChild = new BufferedReader(new InputStreamReader(child.getInputStream()));
    }

    /** One wsdx round: the child's answer ("DONE N NANOS", "STALLED k of N", "FAILED ..."). */
    String wsdx(int n, int timeoutS) throws Exception {
        ExecutorService io = Executors.newFixedThreadPool(4, SessionClients.daemon("server-io"));
        Queue<Connection> accepted = new ConcurrentLinkedQueue<>();
        try (Server server = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM, 4096)) {
            serve(server, io, accepted);
            return ask("wsdx", server.localPort(), n, timeoutS);
        } finally {
            for (Connection c : accepted) {
                if (c.isOpen()) c.close(Linger.abortive()); // after a stall: what the sessions left open
            }
            io.shutdownNow();
        }
    }

    /** One Netty round, the server on 4 event loops (one of them also accepts). */
    String netty(int n, int timeoutS) throws Exception {
        EventLoopGroup loops = NettyPeers.group(4);
        try {
            Channel server = NettyPeers.server(loops, loops, 0);
            return ask("netty", ((InetSocketAddress) server.localAddress()).getPort(), n, timeoutS);
        } finally {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private String ask(String kind, int port, int n, int timeoutS) throws IOException {
        toChild.println(kind + " " + port + " " + n + " " + timeoutS);
        String answer = fromChild.readLine();
        if (answer == null) throw new IOException("the client JVM ended");
        return answer;
    }

    /** The seed's server side: read to the end, take the client's total, answer twice the records' sum, close. */
    private static void serve(Server server, ExecutorService io, Queue<Connection> accepted) {
        server.acceptAsync(io).whenComplete((c, e) -> {
            if (e != null) return; // the server closed
            accepted.add(c);
            serve(server, io, accepted);
            ByteBuffer in = ByteBuffer.allocate(8 * SessionClients.RECORDS + 8);
            readToEnd(c, in).thenCompose(b -> c.receiveDisconnectAsync().thenApply(d -> {
                long sum = 0;
                for (int k = 0; k < b.position() / 8; k++) sum += b.getLong(8 * k);
                if (d.remaining() != 8 || d.getLong(0) != sum) throw new IllegalStateException("summary " + d);
                return sum;
            })).thenCompose(sum -> c.sendDisconnectAsync(ByteBuffer.allocate(8).putLong(0, 2 * sum)))
                    .whenComplete((v, x) -> {
                        try {
                            c.close();
                        } catch (IOException ce) {
                            // the client sees the failure
                        }
                    });
        });
    }

    private static CompletableFuture<ByteBuffer> readToEnd(Connection c, ByteBuffer in) {
        return c.readAsync(in).thenCompose(n -> n < 0 ? CompletableFuture.completedFuture(in) : readToEnd(c, in));
    }

    @Override
    public void close() throws Exception {
        toChild.close();
        if (!child.waitFor(10, TimeUnit.SECONDS)) child.destroyForcibly();
    }
}
