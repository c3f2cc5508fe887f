package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WsdxExceptionTest {
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "10058, ShutdownException",
        "10054, ConnectionResetException",
        "10053, ConnectionAbortedException",
        "10101, DisconnectedException",
        "10057, NotConnectedException",
        "10038, SocketClosedException",
        "10004, SocketClosedException",
        "10024, TooManyOpenFilesException",
        "10035, WouldBlockException",
        "10060, WsdxTimeoutException",
        "10061, ConnectionRefusedException",
        "10014, BufferTooSmallException",
        "10040, MessageTooLargeException",
        "10043, WsdxProtocolException",
        "10092, WsdxProtocolException",
        "10041, WsdxProtocolException",
        "10022, WsdxException",
        "10042, WsdxException",
        "99999, WsdxException",
    })
    void ofPicksTheSubclassForTheCode(int code, String simpleName) {
        IOException e = WsdxException.of(code, "op");
        assertEquals("dev.wsdx." + simpleName, e.getClass().getName());
        assertEquals(code, ((WsaCoded) e).wsaError());
    }

    @Test
    void acceptsNegativeNativeReturnValues() {
        WsdxException e = (WsdxException) WsdxException.of(-10058, "send");
        assertSame(ShutdownException.class, e.getClass());
        assertEquals(10058, e.wsaError());
        assertEquals("WSAESHUTDOWN", e.wsaName());
    }

    @Test
    void messageNamesOperationCodeAndValue() {
        assertEquals("send failed: WSAESHUTDOWN (10058)", WsdxException.of(10058, "send").getMessage());
        assertEquals("x failed: WSA? (4)", WsdxException.of(4, "x").getMessage());
    }

    /** Issue 10.5: java.net's types where java.net has one, with the WSA code still there. */
    @Test
    void timeoutAndRefusedAreJavaNetExceptions() {
        IOException t = WsdxException.of(-WsaError.WSAETIMEDOUT, "recv");
        assertTrue(t instanceof java.net.SocketTimeoutException, t.getClass().getName());
        assertEquals(WsaError.WSAETIMEDOUT, ((WsaCoded) t).wsaError());
        assertEquals("WSAETIMEDOUT", ((WsaCoded) t).wsaName());
        IOException r = WsdxException.of(-WsaError.WSAECONNREFUSED, "connect");
        assertTrue(r instanceof java.net.ConnectException, r.getClass().getName());
        assertEquals(WsaError.WSAECONNREFUSED, ((WsaCoded) r).wsaError());
        assertTrue(WsdxException.of(-WsaError.WSAENOTSOCK, "recv") instanceof SocketClosedException);
    }

    @Test
    void isAnIOException() {
        IOException e = WsdxException.of(10054, "recv");
        assertEquals(10054, ((WsdxException) e).wsaError());
    }
}
