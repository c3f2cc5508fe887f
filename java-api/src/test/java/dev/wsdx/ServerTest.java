package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** What a bound {@link Server} says about itself. */
class ServerTest {

    @Test
    void localAddressHasTheActualPortAndToStringNamesIt() throws Exception {
        try (Server s = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.MESSAGE)) {
            assertNotEquals(0, s.localPort());
            assertEquals(new InetSocketAddress("127.0.0.1", s.localPort()), s.localAddress());
            String text = s.toString();
            assertEquals(true, text.startsWith("Server[") && text.contains("MESSAGE")
                    && text.contains(String.valueOf(s.localPort())), text);
        }
    }
}
