package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class WsaErrorTest {
    @Test
    void valuesMatchWinsock() {
        assertEquals(10004, WsaError.WSAEINTR);
        assertEquals(10014, WsaError.WSAEFAULT);
        assertEquals(10035, WsaError.WSAEWOULDBLOCK);
        assertEquals(10038, WsaError.WSAENOTSOCK);
        assertEquals(10054, WsaError.WSAECONNRESET);
        assertEquals(10058, WsaError.WSAESHUTDOWN);
        assertEquals(10092, WsaError.WSAVERNOTSUPPORTED);
        assertEquals(10101, WsaError.WSAEDISCON);
    }

    @Test
    void namesKnownCodes() {
        assertEquals("WSAECONNRESET", WsaError.name(10054));
        assertEquals("WSAEDISCON", WsaError.name(WsaError.WSAEDISCON));
        assertEquals("WSAVERNOTSUPPORTED", WsaError.name(10092));
    }

    @Test
    void negativeNativeCodesNameLikeTheirAbsoluteValue() {
        assertEquals("WSAESHUTDOWN", WsaError.name(-10058));
    }

    @Test
    void unknownCodesAreWsaQuestionMark() {
        assertEquals("WSA?", WsaError.name(0));
        assertEquals("WSA?", WsaError.name(12345));
        assertEquals("WSA?", WsaError.name(Integer.MIN_VALUE));
    }

    /** Every code with a name is listed, and only those. */
    @Test
    void codesAreTheNamedOnes() {
        org.junit.jupiter.api.Assertions.assertTrue(WsaError.codes().contains(WsaError.WSAECONNRESET));
        org.junit.jupiter.api.Assertions.assertTrue(WsaError.codes().contains(WsaError.WSAEDISCON));
        for (int code : WsaError.codes()) assertEquals(false, WsaError.name(code).equals("WSA?"), "" + code);
    }
}
