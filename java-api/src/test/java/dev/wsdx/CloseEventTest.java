package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.wsdx.CloseEvent.Origin;
import org.junit.jupiter.api.Test;

class CloseEventTest {
    @Test
    void gracefulPeerEvent() {
        CloseEvent e = CloseEvent.of(Origin.PEER, 0, true);
        assertEquals(Origin.PEER, e.origin());
        assertTrue(e.isGraceful());
        assertFalse(e.isReset());
        assertTrue(e.hasDisconnectData());
        assertEquals("CloseEvent[PEER, graceful, disconnect data]", e.toString());
    }

    @Test
    void resetEventNamesTheCode() {
        CloseEvent e = CloseEvent.of(Origin.PEER, WsaError.WSAECONNRESET, false);
        assertTrue(e.isReset());
        assertFalse(e.isGraceful());
        assertEquals("CloseEvent[PEER, WSAECONNRESET(10054)]", e.toString());
    }

    @Test
    void localEventIsGracefulLocal() {
        CloseEvent e = CloseEvent.local();
        assertEquals(Origin.LOCAL, e.origin());
        assertEquals(0, e.errorCode());
        assertEquals(e, CloseEvent.of(Origin.LOCAL, 0, false));
        assertEquals("CloseEvent[LOCAL, graceful]", e.toString());
    }

    @Test
    void valueEquality() {
        assertEquals(CloseEvent.of(Origin.PEER, 10053, false), CloseEvent.of(Origin.PEER, 10053, false));
        assertEquals(CloseEvent.of(Origin.PEER, 10053, false).hashCode(),
                CloseEvent.of(Origin.PEER, 10053, false).hashCode());
        assertFalse(CloseEvent.of(Origin.PEER, 0, false).equals(CloseEvent.of(Origin.PEER, 0, true)));
        assertThrows(NullPointerException.class, () -> CloseEvent.of(null, 0, false));
    }

    /** Issue 10.2: the cause of each kind of close. */
    @Test
    void causeNamesWhyItClosed() {
        assertEquals(CloseEvent.Cause.GRACEFUL, CloseEvent.of(Origin.PEER, 0, false).cause());
        assertEquals(CloseEvent.Cause.RESET, CloseEvent.of(Origin.PEER, WsaError.WSAECONNRESET, false).cause());
        assertEquals(CloseEvent.Cause.ABORTED, CloseEvent.of(Origin.PEER, WsaError.WSAECONNABORTED, false).cause());
        assertEquals(CloseEvent.Cause.ABORTED, CloseEvent.of(Origin.PEER, WsaError.WSAETIMEDOUT, false).cause());
        for (int code : new int[] {WsaError.WSAEPROTONOSUPPORT, WsaError.WSAVERNOTSUPPORTED, WsaError.WSAEPROTOTYPE,
                WsaError.WSAEMSGSIZE}) {
            assertEquals(CloseEvent.Cause.PROTOCOL_ERROR, CloseEvent.of(Origin.PEER, code, false).cause());
        }
        assertEquals(CloseEvent.Cause.LOCAL, CloseEvent.local().cause());
    }

    @Test
    void peerEventCarriesACopyOfTheData() {
        java.nio.ByteBuffer src = java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3});
        CloseEvent e = CloseEvent.peer(0, src);
        src.put(0, (byte) 9);
        assertEquals(3, src.remaining(), "the source is not moved");
        java.nio.ByteBuffer d = e.disconnectData();
        assertTrue(d.isReadOnly());
        assertEquals(1, d.get(0), "a copy");
        d.get();
        assertEquals(0, e.disconnectData().position(), "each call gives a fresh view");
        assertTrue(e.hasDisconnectData());
        assertEquals("CloseEvent[PEER, graceful, disconnect data (3 bytes)]", e.toString());
        assertEquals(0, CloseEvent.of(Origin.PEER, 0, true).disconnectData().remaining());
        assertThrows(IllegalArgumentException.class,
                () -> CloseEvent.peer(0, java.nio.ByteBuffer.allocate(Connection.MAX_DISCONNECT_DATA + 1)));
    }

    /** The factory keeps what it is given: only a graceful local close without data is the shared local event. */
    @Test
    void ofKeepsOriginCodeAndDataFlag() {
        assertSame(CloseEvent.local(), CloseEvent.of(Origin.LOCAL, 0, false));
        CloseEvent coded = CloseEvent.of(Origin.LOCAL, WsaError.WSAECONNABORTED, false);
        assertEquals(WsaError.WSAECONNABORTED, coded.errorCode());
        assertEquals(Origin.LOCAL, coded.origin());
        assertTrue(CloseEvent.of(Origin.LOCAL, 0, true).hasDisconnectData());
        assertEquals(Origin.PEER, CloseEvent.of(Origin.PEER, 0, false).origin());
        assertNotEquals(CloseEvent.local(), CloseEvent.of(Origin.LOCAL, 0, true));
    }

    /** equals is a value comparison with events only; distinct events spread over distinct hash codes. */
    @Test
    void equalityIsAmongEventsAndHashesSpread() {
        CloseEvent e = CloseEvent.of(Origin.PEER, 0, false);
        assertNotEquals(e, "CloseEvent[PEER, graceful]");
        assertNotEquals(e, null);
        java.util.Set<Integer> hashes = new java.util.HashSet<>();
        for (CloseEvent x : new CloseEvent[] {e, CloseEvent.local(), CloseEvent.of(Origin.PEER, 10054, false),
                CloseEvent.of(Origin.PEER, 0, true), CloseEvent.peer(0, java.nio.ByteBuffer.wrap(new byte[] {7}))}) {
            hashes.add(x.hashCode());
        }
        assertEquals(5, hashes.size());
    }

    /** The data limit is inclusive: exactly MAX_DISCONNECT_DATA bytes are an event, one more is refused. */
    @Test
    void peerDataOfExactlyTheLimitIsAccepted() {
        CloseEvent e = CloseEvent.peer(0, java.nio.ByteBuffer.allocate(Connection.MAX_DISCONNECT_DATA));
        assertEquals(Connection.MAX_DISCONNECT_DATA, e.disconnectData().remaining());
    }
}
