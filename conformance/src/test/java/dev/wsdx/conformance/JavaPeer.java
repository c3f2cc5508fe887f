package dev.wsdx.conformance;

import dev.wsdx.Connection;
import dev.wsdx.ConnectionRefusedException;
import dev.wsdx.DisconnectedException;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * The conformance peer of docs/protocol.md section 5 on the Java API (dev.wsdx):
 * {@code server --port N --mode M} or {@code client --connect host:port --mode M}.
 */
public final class JavaPeer {
    private JavaPeer() {}

    public static void main(String[] a) throws Exception {
        Mode mode = a[4].equals("message") ? Mode.MESSAGE : Mode.STREAM;
        if (a[0].equals("server")) {
            try (Server s = Server.bind(new InetSocketAddress("127.0.0.1", Integer.parseInt(a[2])), mode)) {
                while (true) {
                    Connection c = s.accept();
                    new Thread(() -> serve(c)).start();
                }
            }
        }
        String host = a[2].substring(0, a[2].lastIndexOf(':'));
        int port = Integer.parseInt(a[2].substring(a[2].lastIndexOf(':') + 1));
        long startBy = System.currentTimeMillis() + 20_000; // the kit may not listen yet
        boolean served = false;
        while (true) {
            Connection c;
            try {
                c = Connection.open(new InetSocketAddress(host, port), mode);
            } catch (ConnectionRefusedException e) {
                if (served || System.currentTimeMillis() > startBy) return; // the kit is done
                Thread.sleep(50);
                continue;
            } catch (IOException e) {
                served = true; // a handshake the kit broke on purpose
                continue;
            }
            served = true;
            serve(c);
        }
    }

    /** Echoes every message or byte; answers the peer's end with the same disconnect data. */
    static void serve(Connection c) {
        // a heap buffer: one direct 16 MiB buffer per connection would run out of direct memory
        ByteBuffer buf = ByteBuffer.allocate(16 * 1024 * 1024);
        try (c) {
            while (true) {
                buf.clear();
                int n;
                try {
                    n = c.read(buf);
                } catch (DisconnectedException e) {
                    n = -1;
                }
                if (n < 0) {
                    c.sendDisconnect(c.receiveDisconnect());
                    return;
                }
                buf.flip();
                do {
                    c.write(buf);
                } while (buf.hasRemaining());
            }
        } catch (IOException e) {
            // a reset or protocol error: this connection is over, the peer goes on
        }
    }
}
