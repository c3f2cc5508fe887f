package dev.wsdx;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class BackendTest {

    @Test
    void parsesThePropertyValues() {
        assertEquals(Backend.AUTO, Backend.parse("auto"));
        assertEquals(Backend.INSTALLED, Backend.parse(" Installed "));
        assertEquals(Backend.IN_PROCESS, Backend.parse("in-process"));
        assertEquals(Backend.IN_PROCESS, Backend.parse("IN_PROCESS"));
        assertEquals(Backend.IN_PROCESS, Backend.parse("inprocess"));
    }

    @Test
    void refusesOtherValuesNamingTheAcceptedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backend.parse("lsp"));
        assertTrue(e.getMessage().contains("wsdx.backend=lsp"), e.getMessage());
        assertTrue(e.getMessage().contains("auto, installed or in-process"), e.getMessage());
    }

    @Test
    void nativeValuesMatchWsdxH() {
        // WSDX_BACKEND_AUTO 0, WSDX_BACKEND_IN_PROCESS 1, WSDX_BACKEND_INSTALLED 2
        assertEquals(0, Backend.AUTO.nativeValue());
        assertEquals(1, Backend.IN_PROCESS.nativeValue());
        assertEquals(2, Backend.INSTALLED.nativeValue());
        for (Backend b : Backend.values()) assertEquals(b, Backend.ofNative(b.nativeValue()));
        assertThrows(IllegalArgumentException.class, () -> Backend.ofNative(3));
    }

    @Test
    void providerNotInstalledCarriesItsCode() {
        ProviderNotInstalledException e = new ProviderNotInstalledException("x");
        assertEquals(WsaError.WSAEPROTONOSUPPORT, e.wsaError());
        assertEquals("WSAEPROTONOSUPPORT", e.wsaName());
    }
}
