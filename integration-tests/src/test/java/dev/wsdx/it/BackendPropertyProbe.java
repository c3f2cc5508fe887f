package dev.wsdx.it;

import dev.wsdx.Backend;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.Wsdx;
import java.net.InetSocketAddress;

/**
 * The child of {@code BackendTest.I15_9_…}, started with {@code -Dwsdx.backend=installed} where no provider
 * is installed: prints what each of three opens gave ("OPEN1 …", "OPEN2 …", then after
 * {@link Wsdx#useBackend} "OPEN3 …").
 */
public final class BackendPropertyProbe {
    public static void main(String[] args) {
        System.out.println("OPEN1 " + open());
        System.out.println("OPEN2 " + open()); // the failed property is tried again, not forgotten
        try {
            Wsdx.useBackend(Backend.IN_PROCESS);
        } catch (Exception e) {
            System.out.println("USE " + e);
        }
        System.out.println("OPEN3 " + open());
    }

    private static String open() {
        try (Server s = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM)) {
            return "ok " + Wsdx.backend();
        } catch (Exception e) {
            return e.getClass().getSimpleName();
        }
    }
}
