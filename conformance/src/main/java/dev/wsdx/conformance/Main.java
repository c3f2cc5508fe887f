package dev.wsdx.conformance;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;

/**
 * The wsdx conformance kit: checks an implementation of docs/protocol.md over plain TCP.
 *
 * <pre>
 *   client --connect host:port --mode stream|message   the implementation under test is the server
 *   server --port N --mode stream|message               the implementation under test connects to N
 *   options: --handshake-ms MS (the peer's handshake time, default 10000), --timeout-ms MS (default 10000)
 * </pre>
 *
 * The implementation under test runs the conformance peer of docs/protocol.md section 5.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        int failed;
        try {
            failed = run(args, System.out);
        } catch (IllegalArgumentException e) {
            System.err.println("usage: client --connect host:port | server --port N, --mode stream|message"
                    + " [--handshake-ms MS] [--timeout-ms MS]: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(failed == 0 ? 0 : 1);
    }

    /** Runs every case; prints one line per case and the summary; returns the number failed. */
    public static int run(String[] args, PrintStream out) throws IOException {
        if (args.length == 0) throw new IllegalArgumentException("no role");
        String role = args[0], connect = null, modeName = "stream";
        int port = -1, handshakeMs = 10000, timeoutMs = 10000;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--connect" -> connect = args[i + 1];
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                case "--mode" -> modeName = args[i + 1];
                case "--handshake-ms" -> handshakeMs = Integer.parseInt(args[i + 1]);
                case "--timeout-ms" -> timeoutMs = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        int mode = switch (modeName) {
            case "stream" -> Cases.STREAM;
            case "message" -> Cases.MESSAGE;
            default -> throw new IllegalArgumentException("mode " + modeName);
        };
        if (role.equals("client")) {
            if (connect == null || connect.lastIndexOf(':') < 0) throw new IllegalArgumentException("--connect host:port");
            String host = connect.substring(0, connect.lastIndexOf(':'));
            int p = Integer.parseInt(connect.substring(connect.lastIndexOf(':') + 1));
            int t = timeoutMs;
            return runAll(new Cases(() -> {
                Socket s = new Socket();
                s.connect(new InetSocketAddress(host, p), t);
                return new Link(s);
            }, mode, handshakeMs, timeoutMs), "client of " + connect, out);
        }
        if (role.equals("server")) {
            if (port < 0) throw new IllegalArgumentException("--port N");
            try (ServerSocket ss = new ServerSocket()) {
                ss.setReuseAddress(true);
                ss.bind(new InetSocketAddress(port));
                ss.setSoTimeout(timeoutMs * 2);
                return runAll(new Cases(() -> accept(ss), mode, handshakeMs, timeoutMs),
                        "server on port " + ss.getLocalPort(), out);
            }
        }
        throw new IllegalArgumentException("role " + role);
    }

    /**
     * The next live connection from the client under test. A connection the client gave up on while
     * it waited in the backlog (its handshake time ran out while the previous case ran) is skipped:
     * its first read fails or ends.
     */
    private static Link accept(ServerSocket ss) throws IOException {
        while (true) {
            Socket s = ss.accept();
            byte[] b = new byte[8];
            int n;
            try {
                s.setSoTimeout(100);
                n = s.getInputStream().read(b);
            } catch (java.net.SocketTimeoutException e) {
                n = 0; // nothing yet: a live client that is slow to send
            } catch (IOException e) {
                n = -1;
            }
            if (n >= 0) return new Link(s, java.util.Arrays.copyOf(b, n));
            s.close();
        }
    }

    private static int runAll(Cases k, String where, PrintStream out) {
        List<Cases.Case> all = k.all();
        out.println("wsdx conformance kit: " + all.size() + " cases, " + where + ", "
                + (k.mode == Cases.STREAM ? "stream" : "message") + " mode");
        int passed = 0, failed = 0;
        for (Cases.Case c : all) {
            try {
                c.body().run(k);
                out.println("PASS §" + c.section() + " " + c.name());
                passed++;
            } catch (Throwable e) {
                out.println("FAIL §" + c.section() + " " + c.name() + ": " + e);
                failed++;
            }
        }
        out.println(passed + " passed, " + failed + " failed");
        return failed;
    }
}
