package dev.wsdx.it;

import static dev.wsdx.it.It.HOST;
import static dev.wsdx.it.It.WAIT;
import static dev.wsdx.it.Wire.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.Connection;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.WsaError;
import dev.wsdx.WsdxException;
import dev.wsdx.WsdxProtocolException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The receiver rules of docs/protocol.md, seen through the Java API; named by section. */
class ProtocolRulesTest {

    /** 1.4: FIN or RST before 8 preamble bytes fails the client's connect WSAEPROTONOSUPPORT. */
    @Test
    void S1_4_connectEndedBeforePreambleIsProtoNoSupport() throws Exception {
        for (int sent : new int[] {0, 4}) {
            for (boolean reset : new boolean[] {false, true}) {
                try (ServerSocket ss = new ServerSocket(0)) {
                    Thread t = new Thread(() -> {
                        try (Socket s = ss.accept()) {
                            s.getOutputStream().write("WSDX".getBytes(StandardCharsets.US_ASCII), 0, sent);
                            if (reset) s.setSoLinger(true, 0);
                            else s.shutdownOutput();
                            Thread.sleep(200);
                        } catch (Exception ignored) {
                            // the client reports what happened
                        }
                    });
                    t.start();
                    WsdxProtocolException e = assertThrows(WsdxProtocolException.class,
                            () -> Connection.open(new InetSocketAddress(HOST, ss.getLocalPort()), Mode.STREAM),
                            sent + " bytes then " + (reset ? "RST" : "FIN"));
                    assertEquals(WsaError.WSAEPROTONOSUPPORT, e.wsaError(), e.toString());
                    t.join();
                }
            }
        }
    }

    private static final byte[][] BAD = {
        concat(header(7, 1), new byte[] {'x'}),          // 2.1 unknown type
        header(DATA, 16 * 1024 * 1024 + 1),              // 2.2 over the limit
        java.util.Arrays.copyOf(header(DATA, 10), 3),    // 3.4 a header cut by the FIN that follows
    };
    private static final int[] CODE = {WsaError.WSAEPROTONOSUPPORT, WsaError.WSAEMSGSIZE, WsaError.WSAECONNABORTED};

    /**
     * 3: bytes before a protocol error are read first, then every read fails with its code; many rounds at
     * once, half of them with the peer's FIN right after the bad frame, and a frame cut by a FIN (3.4).
     */
    @Test
    void S3_dataBeforeProtocolErrorReadableFirst_stress() throws Exception {
        AtomicInteger bad = new AtomicInteger();
        List<String> why = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (Server stream = Server.bind(new InetSocketAddress(HOST, 0), Mode.STREAM);
             Server message = Server.bind(new InetSocketAddress(HOST, 0), Mode.MESSAGE)) {
            List<Future<?>> all = new ArrayList<>();
            for (int th = 0; th < 4; th++) {
                int seed = th;
                all.add(pool.submit(() -> {
                    for (int i = 0; i < 100; i++) {
                        boolean msg = (i + seed) % 2 == 1;
                        int k = (i / 2 + seed) % BAD.length;
                        boolean fin = k == 2 || (i / 4) % 2 == 1; // the reported case: the bad frame, then FIN
                        String r = round(msg ? message : stream, msg ? Mode.MESSAGE : Mode.STREAM, k, i % 3 == 0, fin);
                        if (r != null && bad.incrementAndGet() < 5) {
                            synchronized (why) {
                                why.add(r);
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) f.get();
        } finally {
            pool.shutdown();
        }
        assertEquals(0, bad.get(), "400 rounds: " + why);
    }

    /** One round; null when it held, else what went wrong. */
    private static String round(Server server, Mode mode, int k, boolean split, boolean fin) throws Exception {
        synchronized (server) { // accept matches the raw client that just connected
            try (Socket raw = rawClient(server, mode); Connection c = server.accept(WAIT)) {
                byte[] abc = frame(DATA, "abc".getBytes(StandardCharsets.US_ASCII));
                if (split) {
                    raw.getOutputStream().write(abc);
                    raw.getOutputStream().write(BAD[k]);
                } else {
                    raw.getOutputStream().write(concat(abc, BAD[k]));
                }
                if (fin) raw.shutdownOutput();
                ByteBuffer b = ByteBuffer.allocate(16);
                int n = c.read(b, WAIT);
                if (n != 3) return mode + " case " + k + ": first read " + n;
                for (int again = 0; again < 2; again++) {
                    try {
                        c.read(ByteBuffer.allocate(16), WAIT);
                        return mode + " case " + k + ": no error";
                    } catch (WsdxException | WsdxProtocolException e) {
                        if (e.wsaError() != CODE[k]) return mode + " case " + k + ": " + e;
                    }
                }
                return null;
            } catch (IOException e) {
                return mode + " case " + k + ": " + e;
            }
        }
    }
}
