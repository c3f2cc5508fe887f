package dev.wsdx.it;

import dev.wsdx.Connection;
import dev.wsdx.Mode;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Child JVM main on JDK 21+ (see {@link ConnectAsyncTest}): N virtual threads, each in a blocking
 * {@link Connection#open} to a server that holds back its preamble. Prints "READY entered=n" once
 * every one of them is in its connect (impossible if a connect pinned its carrier: with two carriers
 * the third thread would never start), then, after the server sent its preambles, "DONE connected=n".
 * Compiled for Java 17: the virtual-thread executor is looked up reflectively.
 */
public final class VirtualConnectors {
    private VirtualConnectors() {}

    public static void main(String[] args) throws Exception {
        InetSocketAddress server = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0]));
        int n = Integer.parseInt(args[1]);
        ExecutorService vts = (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        AtomicInteger entered = new AtomicInteger();
        List<Connection> connected = new CopyOnWriteArrayList<>();
        for (int i = 0; i < n; i++) {
            vts.execute(() -> {
                try {
                    entered.incrementAndGet();
                    connected.add(Connection.open(server, Mode.STREAM));
                } catch (Exception e) {
                    System.out.println("ERROR " + e);
                }
            });
        }
        for (int i = 0; i < 3000 && entered.get() < n; i++) Thread.sleep(10);
        System.out.println((entered.get() == n ? "READY" : "STUCK") + " entered=" + entered.get()
                + " connected=" + connected.size());
        System.out.flush();
        if (entered.get() != n) System.exit(1);
        for (int i = 0; i < 3000 && connected.size() < n; i++) Thread.sleep(10);
        System.out.println("DONE connected=" + connected.size());
        System.out.flush();
        for (Connection c : connected) c.close();
        System.exit(connected.size() == n ? 0 : 1);
    }
}
