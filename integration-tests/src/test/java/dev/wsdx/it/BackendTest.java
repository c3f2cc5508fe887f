package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.Backend;
import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.DisconnectedException;
import dev.wsdx.Mode;
import dev.wsdx.ProviderNotInstalledException;
import dev.wsdx.Server;
import dev.wsdx.WsaError;
import dev.wsdx.Wsdx;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Which backend runs the protocol (in-process, or the installed provider through Winsock), and that the
 * two are wire-compatible. The Windows workflow runs the suite once with the provider installed and
 * {@code -Dwsdx.expectBackend=installed}, once after removing it with {@code in-process}.
 */
class BackendTest {

    private static boolean installedAvailable() throws Exception {
        Backend was = Wsdx.backend();
        try {
            Wsdx.useBackend(Backend.INSTALLED);
            return true;
        } catch (ProviderNotInstalledException e) {
            return false;
        } finally {
            Wsdx.useBackend(was);
        }
    }

    @Test
    void backendIsTheExpectedOne() throws Exception {
        String expect = System.getProperty("wsdx.expectBackend");
        Backend b = Wsdx.backend();
        assertNotEquals(Backend.AUTO, b, "backend() resolves AUTO");
        if (expect != null && !expect.isBlank()) {
            assertEquals(Backend.parse(expect), b, "the tests run on the backend the build asked for");
        } else if (!System.getProperty("os.name").startsWith("Windows")) {
            assertEquals(Backend.IN_PROCESS, b, "no Winsock catalog off Windows");
        }
    }

    @Test
    void installedRefusedWithoutAProvider() throws Exception {
        Assumptions.assumeFalse(installedAvailable(), "a provider is installed here");
        Backend was = Wsdx.backend();
        ProviderNotInstalledException e =
                assertThrows(ProviderNotInstalledException.class, () -> Wsdx.useBackend(Backend.INSTALLED));
        assertEquals(WsaError.WSAEPROTONOSUPPORT, e.wsaError());
        assertEquals(was, Wsdx.backend(), "a refused choice changes nothing");
        assertEquals(Backend.IN_PROCESS, Wsdx.useBackend(Backend.AUTO));
    }

    /**
     * Issue 15.9: a {@value Backend#PROPERTY} that cannot be honoured is not kept as decided: every open
     * tries it again (the provider may have been installed since) and fails the same way, never falling back
     * to another backend unasked; {@link Wsdx#useBackend} then overrides it. Broken by marking the property
     * applied before {@code useBackend} succeeds.
     */
    @Test
    void I15_9_aFailedBackendPropertyIsRetriedUntilUseBackendOverridesIt() throws Exception {
        Assumptions.assumeFalse(installedAvailable(), "a provider is installed here");
        try (ChildJvm child = ChildJvm.start(ChildJvm.currentJava(), java.util.List.of("-Dwsdx.backend=installed"),
                BackendPropertyProbe.class)) {
            assertEquals("OPEN1 ProviderNotInstalledException", child.await(30, "OPEN1 "));
            assertEquals("OPEN2 ProviderNotInstalledException", child.await(30, "OPEN2 "));
            assertEquals("OPEN3 ok IN_PROCESS", child.await(30, "OPEN3 ", "USE "));
        }
    }

    @Test
    void Scenario_acrossBackendsBothWays() throws Exception {
        Assumptions.assumeTrue(installedAvailable(), "needs the installed provider (Windows CI)");
        exchange(Backend.IN_PROCESS, Backend.INSTALLED);
        exchange(Backend.INSTALLED, Backend.IN_PROCESS);
    }

    /** The seed's steps with the server on one backend and the client on the other. */
    private static void exchange(Backend serverSide, Backend clientSide) throws Exception {
        Backend was = Wsdx.backend();
        try {
            Wsdx.useBackend(serverSide);
            try (Server server = Server.bind(ANY_PORT, Mode.MESSAGE)) {
                Wsdx.useBackend(clientSide);
                try (Connection client = Connection.open(server.localAddress(), Mode.MESSAGE);
                        Connection accepted = server.accept(WAIT)) {
                    client.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
                    client.sendDisconnect(ByteBuffer.wrap(new byte[] {0, 7}));                  // (1)
                    CloseEvent ev = accepted.closeFuture().get(WAIT_S, java.util.concurrent.TimeUnit.SECONDS); // (2)
                    assertTrue(ev.isGraceful(), serverSide + "<-" + clientSide + ": " + ev);
                    ByteBuffer buf = ByteBuffer.allocate(16);
                    assertEquals(3, accepted.read(buf));
                    assertThrows(DisconnectedException.class, () -> accepted.read(ByteBuffer.allocate(16)));
                    assertEquals(ByteBuffer.wrap(new byte[] {0, 7}), accepted.receiveDisconnect()); // (3)
                    accepted.sendDisconnect(ByteBuffer.wrap(new byte[] {0, 42}));             // (5)
                    accepted.close();                                                           // (5')
                    assertTrue(client.closeFuture().get(WAIT_S, java.util.concurrent.TimeUnit.SECONDS).isGraceful()); // (6)
                    assertEquals(ByteBuffer.wrap(new byte[] {0, 42}), client.receiveDisconnect()); // (7)
                }                                                                               // (8)
            }
        } finally {
            Wsdx.useBackend(was);
        }
    }
}
