package dev.wsdx.it;

import dev.wsdx.Connection;
import dev.wsdx.Linger;
import dev.wsdx.Mode;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Child JVM main (see {@link EventDrivenTest}): opens N clients, then runs the seed scenario on all
 * of them at once through the event-driven API on 4 threads: each sends 4 records, ends with its
 * total as disconnect data, and expects twice that total back as the server's disconnect data.
 * Prints "CONNECTED n", then "OK n" or "FAIL ...".
 */
public final class SeedClients {
    static final int RECORDS = 4;

    private SeedClients() {}

    static long record(int session, int k) {
        return session * 10L + k;
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int n = Integer.parseInt(args[1]);
        ExecutorService ex = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "client-io");
            t.setDaemon(true);
            return t;
        });
        List<Connection> cs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            cs.add(Connection.open(new InetSocketAddress("127.0.0.1", port), Mode.STREAM).executor(ex));
        }
        System.out.println("CONNECTED " + n);
        AtomicInteger ok = new AtomicInteger();
        List<String> bad = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<?>[] fs = new CompletableFuture<?>[n];
        for (int i = 0; i < n; i++) {
            int id = i;
            fs[i] = session(cs.get(i), id).handle((v, e) -> {
                if (e == null) ok.incrementAndGet();
                else bad.add("session " + id + ": " + e);
                return null;
            });
        }
        CompletableFuture.allOf(fs).get(300, TimeUnit.SECONDS); // a hang detector, not a speed limit
        System.out.println(bad.isEmpty() ? "OK " + ok.get() : "FAIL " + bad.size() + " " + bad.subList(0, Math.min(5, bad.size())));
        System.out.flush();
        System.exit(bad.isEmpty() ? 0 : 1);
    }

    private static CompletableFuture<Void> session(Connection c, int id) {
        ByteBuffer recs = ByteBuffer.allocate(8 * RECORDS);
        long sum = 0;
        for (int k = 0; k < RECORDS; k++) {
            recs.putLong(record(id, k));
            sum += record(id, k);
        }
        recs.flip();
        long total = sum;
        return c.writeAsync(recs)
                .thenCompose(w -> c.sendDisconnectAsync(ByteBuffer.allocate(8).putLong(0, total)))
                .thenCompose(v -> c.receiveDisconnectAsync())
                .thenAccept(ack -> {
                    try {
                        c.close(Linger.dontLinger());
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    if (ack.remaining() != 8 || ack.getLong(0) != 2 * total) {
                        throw new IllegalStateException("ack " + ack + " for total " + total);
                    }
                });
    }
}
