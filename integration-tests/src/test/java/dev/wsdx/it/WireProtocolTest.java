package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.DisconnectedException;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.WsaError;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * A hand-written peer speaking docs/protocol.md over a plain java.net.Socket against the real
 * library: interoperability with the documented wire format (the document's own example, and the
 * frames the library itself sends). Broken and hostile peers are covered by HostilePeerTest.
 */
class WireProtocolTest {

    private static final byte[] MAGIC = {0x57, 0x53, 0x44, 0x58};

    private static byte[] preamble(int version, int mode) {
        return new byte[] {MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], (byte) version, (byte) mode, 0, 0};
    }

    /** A raw client connected to server, preamble exchanged; returns the socket. */
    private static Socket rawClient(Server server, int mode) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(HOST, server.localPort()), 5000);
        s.setSoTimeout((int) WAIT.toMillis());
        s.getOutputStream().write(preamble(1, mode));
        byte[] theirs = new byte[8];
        new DataInputStream(s.getInputStream()).readFully(theirs);
        assertArrayEquals(preamble(1, mode), theirs, "server preamble: WSDX, version 1, its mode, reserved 0");
        return s;
    }

    @Test
    void exampleFromProtocolDocIsUnderstood() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.MESSAGE); Socket raw = rawClient(server, 2)) {
            Connection c = server.accept(WAIT);
            try (c) {
                OutputStream out = raw.getOutputStream();
                // the exact bytes of docs/protocol.md section 4, after the preamble
                out.write(new byte[] {0x01, 0, 0, 0, 0x02, 0x68, 0x69});
                out.write(new byte[] {0x02, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x07});
                raw.shutdownOutput();

                CloseEvent ev = awaitClose(c, "server side");
                assertGracefulPeerClose(ev, "server side");
                assertTrue(ev.hasDisconnectData(), "DISCONNECT frame arrived: " + ev);
                assertArrayEquals(bytes("hi"), readMessage(c));
                assertWsaThrows(DisconnectedException.class, WsaError.WSAEDISCON,
                        () -> c.read(ByteBuffer.allocate(16), WAIT), "after the last message");
                ByteBuffer d = c.receiveDisconnect();
                assertEquals(8, d.remaining());
                assertEquals(7L, d.getLong());

                // and what the library sends on the wire is the documented format too
                c.sendDisconnect(longBuf(42));
                DataInputStream in = new DataInputStream(raw.getInputStream());
                assertEquals(0x02, in.readUnsignedByte(), "DISCONNECT frame type");
                assertEquals(8, in.readInt(), "DISCONNECT length");
                assertEquals(42L, in.readLong(), "DISCONNECT payload");
                assertEquals(-1, in.read(), "then FIN");
            }
        }
    }

    @Test
    void libraryDataFramesAreDocumentedFormat() throws Exception {
        try (Server server = Server.bind(ANY_PORT, Mode.STREAM); Socket raw = rawClient(server, 1)) {
            try (Connection c = server.accept(WAIT)) {
                writeAll(c, buf("abc"));
                c.shutdownOutput(); // FIN alone, no DISCONNECT frame
                DataInputStream in = new DataInputStream(raw.getInputStream());
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                while (true) {
                    int type = in.read();
                    if (type < 0) break;
                    assertEquals(0x01, type, "only DATA frames before a plain FIN");
                    int len = in.readInt();
                    assertTrue(len > 0, "no empty DATA frames in stream mode");
                    byte[] p = new byte[len];
                    in.readFully(p);
                    got.write(p);
                }
                assertArrayEquals(bytes("abc"), got.toByteArray());
            }
        }
    }
}
