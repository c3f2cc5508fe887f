package dev.wsdx.demo;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.DisconnectedException;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.WsaError;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The seed's scenario, "Exchanging user data at shutdown time", run for real over loopback.
 *
 * <p>A server keeps a grand total of transactions over all its clients. Each client sends
 * transactions (the server acknowledges each one), then ends its session:
 *
 * <pre>
 *  (1) client: WSPSendDisconnect carrying its transaction total
 *  (2) server: FD_CLOSE (or recv 0 / WSAEDISCON): graceful close under way
 *  (3) server: WSPRecvDisconnect obtains the client's total
 *  (4) server: computes the grand total
 *  (5) server: WSPSendDisconnect carrying the grand total
 *  (5') server: WSPCloseSocket
 *  (6) client: FD_CLOSE
 *  (7) client: WSPRecvDisconnect receives the grand total
 *  (8) client: WSPCloseSocket
 * </pre>
 *
 * The server is event-driven ({@link Server#acceptAsync}, {@link Connection#readAsync} and the other
 * completions on two threads, none per connection); the clients use the blocking calls.
 * Totals travel as 8-byte big-endian longs. Clients transact concurrently and end their
 * sessions one after another, so client i receives the grand total i * transactions.
 *
 * <p>Usage: {@code SeedScenarioDemo [clients=3] [transactionsPerClient=5] [MESSAGE|STREAM]}.
 * Exit code 0 when every step behaved, 1 when one did not, 2 on bad arguments
 * (on success {@code main} simply returns; every thread it starts is a daemon).
 */
public final class SeedScenarioDemo {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long HELLO = -1L;

    private final int clients;
    private final int transactions;
    private final Mode mode;
    private final PrintStream out;
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final Object totalLock = new Object();
    private long grandTotal;

    private SeedScenarioDemo(int clients, int transactions, Mode mode, PrintStream out) {
        this.clients = clients;
        this.transactions = transactions;
        this.mode = mode;
        this.out = out;
    }

    public static void main(String[] args) {
        int clients = 3;
        int tx = 5;
        Mode mode = Mode.MESSAGE;
        try {
            if (args.length > 0) clients = Integer.parseInt(args[0]);
            if (args.length > 1) tx = Integer.parseInt(args[1]);
            if (args.length > 2) mode = Mode.valueOf(args[2].toUpperCase(Locale.ROOT));
            if (clients < 1 || clients > 1000 || tx < 0 || tx > 1_000_000 || args.length > 3) {
                throw new IllegalArgumentException("out of range");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("usage: SeedScenarioDemo [clients 1..1000, default 3] "
                    + "[transactions per client 0..1000000, default 5] [MESSAGE|STREAM, default MESSAGE]");
            System.exit(2);
            return;
        }
        int rc = run(clients, tx, mode, System.out);
        System.out.flush();
        // Success returns normally (so `mvn exec:java` can finish its build); failure exits non-zero.
        if (rc != 0) System.exit(rc);
    }

    /** Runs the scenario and returns the process exit code (0 = every step behaved). */
    public static int run(int clients, int transactionsPerClient, Mode mode, PrintStream out) {
        return new SeedScenarioDemo(clients, transactionsPerClient, mode, out).run();
    }

    private int run() {
        long t0 = System.nanoTime();
        long[] received = new long[clients + 1];
        try (Server server = Server.bind(new InetSocketAddress("127.0.0.1", 0), mode)) {
            say("server", "listening on 127.0.0.1:" + server.localPort() + " in " + mode + " mode; "
                    + clients + " clients x " + transactions + " transactions");
            ExecutorService io = Executors.newFixedThreadPool(2, r -> {
                Thread t = new Thread(r, "server-io");
                t.setDaemon(true);
                return t;
            });
            CompletableFuture<Void> served = serve(server, io);

            // client i may end its session once client i-1 has finished (8)
            CountDownLatch[] turn = new CountDownLatch[clients + 2];
            for (int i = 0; i < turn.length; i++) turn[i] = new CountDownLatch(1);
            turn[1].countDown();
            List<Thread> threads = new ArrayList<>();
            for (int i = 1; i <= clients; i++) {
                int id = i;
                Thread t = thread("client-" + id, () -> {
                    try {
                        received[id] = client(server.localPort(), id, turn[id]);
                    } finally {
                        turn[id + 1].countDown();
                    }
                });
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) join(t);
            try {
                served.get(120, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                fail("server", "sessions did not finish: " + e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                io.shutdown();
            }
        } catch (IOException e) {
            fail("server", "could not listen: " + e);
        }

        long expectedGrand = (long) clients * transactions;
        for (int i = 1; i <= clients; i++) {
            long expected = (long) i * transactions;
            if (received[i] != expected) {
                fail("client-" + i, "received grand total " + received[i] + ", expected " + expected);
            }
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (failures.isEmpty()) {
            out.println("summary: OK - " + clients + " clients, " + expectedGrand + " transactions, grand total "
                    + grandTotal + ", every step (1)-(8) as specified, " + ms + " ms");
            return 0;
        }
        out.println("summary: FAILED - " + failures.size() + " problem(s):");
        for (String f : failures) out.println("  " + f);
        return 1;
    }

    // ------------------------------------------------------------------ server side

    /**
     * The server, event-driven: no thread per connection. Accepts, reads and writes are
     * completions on {@code io} (two threads serve every session), driven by the library's
     * readiness events; each session is one chain of futures.
     */
    private CompletableFuture<Void> serve(Server server, Executor io) {
        List<CompletableFuture<Void>> sessions = new ArrayList<>();
        CompletableFuture<Void> accepted = CompletableFuture.completedFuture(null);
        for (int i = 0; i < clients; i++) {
            CompletableFuture<Connection> next = accepted.thenCompose(v -> server.acceptAsync(io));
            sessions.add(next.thenCompose(this::session).exceptionally(e -> {
                fail("server", "session: " + cause(e));
                return null;
            }));
            accepted = next.thenApply(c -> null);
        }
        return CompletableFuture.allOf(sessions.toArray(new CompletableFuture<?>[0]));
    }

    private CompletableFuture<Void> session(Connection c) {
        String[] who = {"?"};
        long[] counted = {0};
        return readLongAsync(c).thenCompose(hello -> {
            if (hello == null || hello != HELLO) throw new IllegalStateException("client did not introduce itself");
            return readLongAsync(c);
        }).thenCompose(id -> {
            who[0] = "client-" + id;
            return transactions(c, counted);
        }).thenCompose(howEnded -> c.closeFuture().orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS).thenApply(ev -> {
            // (2) FD_CLOSE
            say("server", "(2) FD_CLOSE " + describe(ev) + " from " + who[0] + "; " + howEnded);
            if (!ev.isGraceful()) fail("server", "(2) FD_CLOSE from " + who[0] + " is not graceful: " + ev);
            return ev;
        })).thenCompose(ev -> c.receiveDisconnectAsync()).thenCompose(d -> {
            // (3) WSPRecvDisconnect
            if (d.remaining() != 8) {
                throw new IllegalStateException("(3) disconnect data from " + who[0] + " has " + d.remaining() + " bytes");
            }
            long clientTotal = d.getLong();
            say("server", "(3) WSPRecvDisconnect from " + who[0] + " total=" + clientTotal);
            if (clientTotal != counted[0]) {
                fail("server", "(3) " + who[0] + " says " + clientTotal + " transactions, the server counted " + counted[0]);
            }
            // (4) grand total
            long g;
            synchronized (totalLock) {
                grandTotal += clientTotal;
                g = grandTotal;
            }
            say("server", "(4) grand total=" + g);
            // (5) WSPSendDisconnect with the grand total (printed first: the client may see its FD_CLOSE before)
            say("server", "(5) WSPSendDisconnect total=" + g + " to " + who[0]);
            return c.sendDisconnectAsync(ByteBuffer.allocate(8).putLong(0, g));
        }).handle((v, e) -> {
            try {
                c.close(); // (5') WSPCloseSocket
                if (e == null) say("server", "(5') WSPCloseSocket " + who[0]);
            } catch (IOException ce) {
                if (e == null) e = ce;
            }
            if (e != null) fail("server", "session with " + who[0] + ": " + cause(e));
            return null;
        });
    }

    /** Reads and acknowledges transactions until the client's end; completes with how it ended. */
    private CompletableFuture<String> transactions(Connection c, long[] counted) {
        return readLongAsync(c).handle((tx, e) -> {
            if (e != null && cause(e) instanceof DisconnectedException) {
                return CompletableFuture.completedFuture("recv failed " + ((DisconnectedException) cause(e)).wsaName());
            }
            if (e != null) return CompletableFuture.<String>failedFuture(cause(e));
            if (tx == null) return CompletableFuture.completedFuture("recv returned 0");
            counted[0]++;
            return c.writeAsync(ByteBuffer.allocate(8).putLong(0, counted[0])) // acknowledge it
                    .thenCompose(n -> transactions(c, counted));
        }).thenCompose(f -> f);
    }

    /** Next 8-byte number; null when the stream ended (recv 0); DisconnectedException in message mode. */
    private static CompletableFuture<Long> readLongAsync(Connection c) {
        return readFully(c, ByteBuffer.allocate(8)).thenApply(b -> b == null ? null : b.getLong(0));
    }

    private static CompletableFuture<ByteBuffer> readFully(Connection c, ByteBuffer b) {
        return c.readAsync(b).thenCompose(n -> {
            if (n < 0) {
                if (b.position() != 0) throw new IllegalStateException("stream ended inside a number");
                return CompletableFuture.completedFuture(null);
            }
            if (c.mode() == Mode.MESSAGE && b.hasRemaining()) {
                throw new IllegalStateException("message of " + n + " bytes, expected 8");
            }
            return b.hasRemaining() ? readFully(c, b) : CompletableFuture.completedFuture(b);
        });
    }

    private static Throwable cause(Throwable e) {
        while (e instanceof CompletionException && e.getCause() != null) e = e.getCause();
        return e;
    }

    // ------------------------------------------------------------------ client side

    private long client(int port, int id, CountDownLatch myTurn) {
        String me = "client-" + id;
        try (Connection c = Connection.open(new InetSocketAddress("127.0.0.1", port), mode)) {
            writeLong(c, HELLO);
            writeLong(c, id);
            for (long t = 1; t <= transactions; t++) {
                writeLong(c, t);
                long ack = readLong(c);
                if (ack != t) fail(me, "transaction " + t + " acknowledged as " + ack);
            }
            say(me, "done " + transactions + " transactions");
            if (!myTurn.await(60, TimeUnit.SECONDS)) {
                fail(me, "never got its turn to disconnect");
                return -1;
            }

            // (1) WSPSendDisconnect with the transaction total
            say(me, "(1) WSPSendDisconnect total=" + transactions);
            c.sendDisconnect(ByteBuffer.allocate(8).putLong(0, transactions));

            // (6) FD_CLOSE
            CloseEvent ev = awaitClose(c);
            if (ev == null) {
                fail(me, "(6) no FD_CLOSE from the server");
                return -1;
            }
            say(me, "(6) FD_CLOSE " + describe(ev));
            if (!ev.isGraceful()) fail(me, "(6) FD_CLOSE is not graceful: " + ev);

            // (7) WSPRecvDisconnect
            ByteBuffer g = c.receiveDisconnect();
            if (g.remaining() != 8) {
                fail(me, "(7) grand total has " + g.remaining() + " bytes, expected 8");
                return -1;
            }
            long grand = g.getLong();
            say(me, "(7) WSPRecvDisconnect total=" + grand);

            // (8) WSPCloseSocket
            c.close();
            say(me, "(8) WSPCloseSocket");
            return grand;
        } catch (IOException | RuntimeException e) {
            fail(me, e.toString());
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(me, "interrupted");
            return -1;
        }
    }

    // ------------------------------------------------------------------ helpers

    private static String describe(CloseEvent ev) {
        return (ev.isGraceful() ? "graceful" : "abortive") + " (error " + ev.errorCode()
                + (ev.errorCode() == 0 ? "" : " " + WsaError.name(ev.errorCode())) + ")";
    }

    private static CloseEvent awaitClose(Connection c) {
        try {
            return c.closeFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (ExecutionException | TimeoutException e) {
            return null;
        }
    }

    private static void writeLong(Connection c, long v) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8).putLong(0, v);
        while (b.hasRemaining()) c.write(b);
    }

    private static long readLong(Connection c) throws IOException {
        Long v = readLongOrEnd(c);
        if (v == null) throw new IOException("connection ended while a number was expected");
        return v;
    }

    /** Next 8-byte number; null when the stream ended (recv 0); DisconnectedException in message mode. */
    private static Long readLongOrEnd(Connection c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8);
        while (b.hasRemaining()) {
            int n = c.read(b, WAIT);
            if (n < 0) {
                if (b.position() != 0) throw new IOException("stream ended inside a number");
                return null;
            }
            if (c.mode() == Mode.MESSAGE && b.hasRemaining()) {
                throw new IOException("message of " + n + " bytes, expected 8");
            }
        }
        return b.getLong(0);
    }

    private void say(String who, String what) {
        synchronized (out) {
            out.printf("%-9s %s%n", who, what);
        }
    }

    private void fail(String who, String what) {
        failures.add(who + ": " + what);
        say(who, "FAILED " + what);
    }

    private Thread thread(String name, Runnable r) {
        Thread t = new Thread(() -> {
            try {
                r.run();
            } catch (RuntimeException | Error e) {
                fail(name, "crashed: " + e);
            }
        }, name);
        t.setDaemon(true);
        return t;
    }

    private void join(Thread t) {
        try {
            t.join(120_000);
            if (t.isAlive()) fail(t.getName(), "still running after 120 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
