package dev.wsdx.it;

import dev.wsdx.Connection;
import dev.wsdx.Mode;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Child JVM main on JDK 21+ (see {@link EventDrivenTest}): N virtual threads, each blocked in
 * {@link Connection#read} on its own connection. Prints "READY entered=n carriers=c" once every
 * one of them is in read (impossible if a read pinned its carrier: the others would never run),
 * then, after the server wrote a byte to each, "DONE read=n carriers=c". Compiled for Java 17:
 * the virtual-thread executor is looked up reflectively.
 */
public final class VirtualReaders {
    private VirtualReaders() {}

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int n = Integer.parseInt(args[1]);
        List<Connection> cs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) cs.add(Connection.open(new InetSocketAddress("127.0.0.1", port), Mode.STREAM));
        int carriersBefore = carriers();
        ExecutorService vts = (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        AtomicInteger entered = new AtomicInteger();
        AtomicInteger read = new AtomicInteger();
        for (Connection c : cs) {
            vts.execute(() -> {
                try {
                    entered.incrementAndGet();
                    if (c.read(ByteBuffer.allocate(1)) == 1) read.incrementAndGet();
                } catch (Exception e) {
                    System.out.println("ERROR " + e);
                }
            });
        }
        int maxCarriers = carriersBefore;
        for (int i = 0; i < 6000 && entered.get() < n; i++) {
            Thread.sleep(10);
            maxCarriers = Math.max(maxCarriers, carriers());
        }
        Thread.sleep(200); // let the last ones reach their park
        maxCarriers = Math.max(maxCarriers, carriers());
        System.out.println((entered.get() == n ? "READY" : "STUCK") + " entered=" + entered.get() + " carriers=" + maxCarriers);
        System.out.flush();
        if (entered.get() != n) System.exit(1);
        for (int i = 0; i < 6000 && read.get() < n; i++) {
            Thread.sleep(10);
            maxCarriers = Math.max(maxCarriers, carriers());
        }
        System.out.println("DONE read=" + read.get() + " carriers=" + maxCarriers);
        System.out.flush();
        for (Connection c : cs) c.close();
        System.exit(read.get() == n ? 0 : 1);
    }

    /** Platform threads of the virtual-thread scheduler now alive. */
    private static int carriers() {
        int k = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("ForkJoinPool-") && t.getName().contains("worker")) k++;
        }
        return k;
    }
}
