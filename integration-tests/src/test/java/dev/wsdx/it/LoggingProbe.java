package dev.wsdx.it;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Run in a child JVM at DEBUG by {@link PackagingTest#rejectedPeersAndProtocolErrorsAreLoggedAtDebug}:
 * a plain TCP peer that the server rejects, then a raw wsdx peer that breaks the protocol.
 */
public final class LoggingProbe {
    private LoggingProbe() {}

    public static void main(String[] args) throws Exception {
        try (Server server = Server.bind(new InetSocketAddress(It.HOST, 0), Mode.STREAM)) {
            try (Socket plain = Wire.rawConnect(server)) {
                plain.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes());
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (server.rejectedCount() < 1 && System.nanoTime() < until) Thread.sleep(5);
            }
            try (Socket raw = Wire.rawClient(server, Mode.STREAM); Connection c = server.accept(It.WAIT)) {
                raw.getOutputStream().write(Wire.header(Wire.DATA, -1)); // a frame over the limit
                try {
                    ByteBuffer b = ByteBuffer.allocate(64);
                    while (c.read(b, It.WAIT) >= 0) b.clear();
                } catch (IOException expected) {
                    // the protocol error
                }
                CloseEvent ev = c.closeFuture().get(10, TimeUnit.SECONDS);
                System.out.println("probe close event " + ev.cause());
            }
        }
    }
}
