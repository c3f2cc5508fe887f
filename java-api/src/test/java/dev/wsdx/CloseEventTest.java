package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
}
