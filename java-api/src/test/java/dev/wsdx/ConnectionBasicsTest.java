package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The small accessors of {@link Connection}: what it says about itself, its executor, its options. */
class ConnectionBasicsTest {

    @Test
    void toStringSaysHandleModeAndState() throws Exception {
        Connection c = Connection.open(Mode.MESSAGE);
        String h = String.valueOf(c.handle());
        assertEquals("Connection[" + h + ", MESSAGE]", c.toString());
        try (Server s = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.MESSAGE)) {
            CompletableFuture<Connection> accepted = s.acceptAsync();
            c.connect(new InetSocketAddress("127.0.0.1", s.localPort()));
            assertEquals("Connection[" + h + ", MESSAGE, connected]", c.toString());
            accepted.get(10, TimeUnit.SECONDS).close();
        }
        c.close();
        assertEquals("Connection[" + h + ", MESSAGE, closed]", c.toString());
    }

    @Test
    void executorIsTheOneSetAndOptionsChain() throws Exception {
        try (LoopbackPair p = LoopbackPair.open("127.0.0.1", Mode.STREAM)) {
            Connection c = p.client;
            Executor mine = Runnable::run;
            assertSame(c, c.executor(mine));
            assertSame(mine, c.executor());
            assertSame(c, c.setOption(StandardSocketOptions.TCP_NODELAY, false));
            assertEquals(false, c.getOption(StandardSocketOptions.TCP_NODELAY));
            Set<SocketOption<?>> want = Set.of(StandardSocketOptions.TCP_NODELAY, StandardSocketOptions.SO_KEEPALIVE,
                    StandardSocketOptions.SO_RCVBUF, StandardSocketOptions.SO_SNDBUF);
            assertEquals(want, c.supportedOptions());
            assertEquals(p.accepted.localAddress(), c.remoteAddress());
        }
    }

    /** Addresses are read from the library's text, not assumed: a server on 127.0.0.2 is 127.0.0.2. */
    @Test
    void addressesAreTheSocketsOwn() throws Exception {
        try (LoopbackPair p = LoopbackPair.open("127.0.0.2", Mode.STREAM)) {
            assertEquals(new InetSocketAddress("127.0.0.2", p.server.localPort()), p.client.remoteAddress());
            assertEquals(p.client.remoteAddress(), p.accepted.localAddress());
            assertEquals(p.client.localAddress(), p.accepted.remoteAddress());
        }
    }

    /** Buffer sizes of 0 are taken (the kernel rounds them up to its minimum); negative ones are refused. */
    @Test
    void bufferSizeZeroIsTakenNegativeRefused() throws Exception {
        try (LoopbackPair p = LoopbackPair.open("127.0.0.1", Mode.STREAM)) {
            Connection c = p.client;
            c.setOption(StandardSocketOptions.SO_SNDBUF, 0);
            assertTrue(c.getOption(StandardSocketOptions.SO_SNDBUF) > 0);
            assertThrows(IllegalArgumentException.class, () -> c.setOption(StandardSocketOptions.SO_SNDBUF, -1));
        }
    }

    /** The peer's disconnect data into a direct buffer, as into a heap buffer: the bytes, the position moved. */
    @Test
    void receiveDisconnectIntoADirectBuffer() throws Exception {
        try (LoopbackPair p = LoopbackPair.open("127.0.0.1", Mode.STREAM)) {
            p.client.sendDisconnect(java.nio.ByteBuffer.wrap(new byte[] {4, 5, 6}));
            java.nio.ByteBuffer dst = java.nio.ByteBuffer.allocateDirect(16).position(2);
            assertEquals(-1, p.accepted.read(java.nio.ByteBuffer.allocate(1)), "the end of input first");
            assertEquals(3, p.accepted.receiveDisconnect(dst));
            assertEquals(5, dst.position());
            assertEquals(4, dst.get(2));
            assertEquals(6, dst.get(4));
        }
    }
}
