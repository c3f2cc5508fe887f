package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.CloseEvent;
import dev.wsdx.CloseEvent.Cause;
import dev.wsdx.Connection;
import dev.wsdx.DisconnectedException;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import dev.wsdx.SocketClosedException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 10.2: the close event keeps its cause and the peer's disconnect data. A peer close that a
 * read already saw wins over the local close that follows it; the data the event saw stays
 * available to {@link Connection#receiveDisconnect()} after the local close.
 */
class CloseCauseTest {
    static final int SESSIONS = 100;

    /**
     * The seed scenario's server side, read to the end and then closed, many times: every close event
     * is the client's graceful close with its data, never "closed locally" (it was before in most sessions).
     */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void R1_R2_S5_serverThatReadsToTheEndThenClosesSeesThePeersCloseAndData(Mode mode) throws Exception {
        for (int i = 0; i < SESSIONS; i++) {
            try (Pair p = pair(mode)) {
                byte[] total = bytes("client-total-" + i);
                writeAll(p.client, buf("record-" + i));
                p.client.sendDisconnect(ByteBuffer.wrap(total));
                readToEnd(p.accepted, mode);
                p.accepted.close();
                CloseEvent ev = awaitClose(p.accepted, "server");
                assertEquals(CloseEvent.Origin.PEER, ev.origin(), "session " + i + ": " + ev);
                assertEquals(Cause.GRACEFUL, ev.cause(), "session " + i + ": " + ev);
                assertTrue(ev.hasDisconnectData(), "session " + i + ": " + ev);
                // the event holds the data when it was taken at once; else receiveDisconnect has it, even now
                ByteBuffer data = ev.disconnectData().hasRemaining() ? ev.disconnectData() : p.accepted.receiveDisconnect();
                assertArrayEquals(total, remaining(data), "session " + i + ": the client's disconnect data");
            }
        }
    }

    /** The close callback came first, data still unread: after a local close receiveDisconnect returns the data. */
    @Test
    void S5_receiveDisconnectAfterLocalCloseReturnsTheDataTheEventSaw() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            writeAll(p.client, buf("unread"));
            p.client.sendDisconnect(buf("bye"));
            CloseEvent ev = awaitClose(p.accepted, "server");
            assertEquals(Cause.GRACEFUL, ev.cause());
            assertTrue(ev.hasDisconnectData());
            assertArrayEquals(bytes("unread"), readN(p.accepted, 6), "the event took nothing the application had not read");
            p.accepted.close();
            assertArrayEquals(bytes("bye"), remaining(p.accepted.receiveDisconnect()), "after close");
            assertArrayEquals(bytes("bye"), remaining(p.accepted.receiveDisconnect()), "and again");
        }
    }

    /** A read that saw the end first: the event carries the data itself, no second call. */
    @Test
    void S5_eventAfterTheEndOfInputCarriesTheData() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            p.client.sendDisconnect(buf("summary"));
            assertThrows(DisconnectedException.class, () -> p.accepted.read(ByteBuffer.allocate(16), WAIT));
            p.accepted.close();
            CloseEvent ev = awaitClose(p.accepted, "server");
            assertEquals(Cause.GRACEFUL, ev.cause(), ev.toString());
            if (!ev.disconnectData().hasRemaining()) {
                // the callback beat the read: the event could not take the data then
                assertArrayEquals(bytes("summary"), remaining(p.accepted.receiveDisconnect()));
            } else {
                assertArrayEquals(bytes("summary"), remaining(ev.disconnectData()));
                assertTrue(ev.disconnectData().isReadOnly());
            }
        }
    }

    /** After the event took the data, reads still report the end of input as before (R1, R2). */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void R1_R2_theEndOfInputRepeatsAfterTheEventTookTheData(Mode mode) throws Exception {
        try (Pair p = pair(mode)) {
            p.client.sendDisconnect(buf("x"));
            readToEnd(p.accepted, mode);
            awaitClose(p.accepted, "server");
            for (int i = 0; i < 2; i++) {
                if (mode == Mode.STREAM) assertEquals(-1, p.accepted.read(ByteBuffer.allocate(4), WAIT));
                else assertThrows(DisconnectedException.class, () -> p.accepted.read(ByteBuffer.allocate(4), WAIT));
            }
        }
    }

    @Test
    void R3_resetSeenByAReadWinsOverTheLocalClose() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            p.client.close(Linger.abortive());
            assertThrows(dev.wsdx.ConnectionResetException.class, () -> {
                while (true) p.accepted.read(ByteBuffer.allocate(16), WAIT);
            });
            p.accepted.close();
            CloseEvent ev = awaitClose(p.accepted, "server");
            assertEquals(Cause.RESET, ev.cause(), ev.toString());
            assertTrue(ev.isReset());
        }
    }

    @Test
    void localCloseFirstIsLocalAndReceiveDisconnectThenFailsNotSock() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            p.accepted.close();
            CloseEvent ev = awaitClose(p.accepted, "server");
            assertEquals(Cause.LOCAL, ev.cause());
            assertEquals(CloseEvent.Origin.LOCAL, ev.origin());
            assertThrows(SocketClosedException.class, p.accepted::receiveDisconnect, "S11: nothing was seen");
        }
    }

    private static void readToEnd(Connection c, Mode mode) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(64);
        while (true) {
            b.clear();
            if (mode == Mode.STREAM) {
                if (c.read(b, WAIT) < 0) return;
            } else {
                try {
                    c.read(b, WAIT);
                } catch (DisconnectedException end) {
                    return;
                }
            }
        }
    }
}
