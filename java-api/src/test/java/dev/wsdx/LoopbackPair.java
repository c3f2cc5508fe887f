package dev.wsdx;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A server on a loopback address, a client connected to it and the server's side of that connection. */
final class LoopbackPair implements AutoCloseable {
    final Server server;
    final Connection client;
    final Connection accepted;

    private LoopbackPair(Server server, Connection client, Connection accepted) {
        this.server = server;
        this.client = client;
        this.accepted = accepted;
    }

    static LoopbackPair open(String host, Mode mode) throws Exception {
        Server s = Server.bind(new InetSocketAddress(host, 0), mode);
        try {
            CompletableFuture<Connection> a = s.acceptAsync();
            Connection c = Connection.open(new InetSocketAddress(host, s.localPort()), mode);
            return new LoopbackPair(s, c, a.get(10, TimeUnit.SECONDS));
        } catch (Exception e) {
            s.close();
            throw e;
        }
    }

    @Override
    public void close() throws Exception {
        try (Server s = server; Connection c = client; Connection a = accepted) {
            // closed in reverse order
        }
    }
}
