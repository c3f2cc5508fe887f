package dev.wsdx.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * docs/protocol.md section 5: the kit passes against wsdx's own conformance peers, the Java API's
 * (JavaPeer) and the C library's (native/conformance/peer.c), in both roles and both modes.
 */
class ConformanceKitTest {
    static final int HANDSHAKE_MS = 1000;
    static Path cPeer;

    /** Builds the C peer from the library's sources (the same flags as native/test/run-tests.sh). */
    @BeforeAll
    static void buildCPeer() throws Exception {
        Path repo = Path.of(System.getProperty("wsdx.repo", "..")).toAbsolutePath().normalize();
        Path nat = repo.resolve("native");
        if (!Files.isDirectory(nat.resolve("src/posix"))) return;
        Path out = repo.resolve("conformance/target/wsdx-conformance-peer");
        List<String> cmd = new ArrayList<>(List.of("gcc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-o", out.toString(),
                "-I" + nat.resolve("include"), "-I" + nat.resolve("src/core"), "-I" + nat.resolve("src/bsd"),
                "-I" + nat.resolve("src/posix"), nat.resolve("conformance/peer.c").toString()));
        for (String dir : List.of("src/core", "src/bsd", "src/posix")) {
            try (var files = Files.list(nat.resolve(dir))) {
                files.filter(f -> f.toString().endsWith(".c")).sorted().forEach(f -> cmd.add(f.toString()));
            }
        }
        cmd.add("-lpthread");
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (p.waitFor(180, TimeUnit.SECONDS) && p.exitValue() == 0) cPeer = out;
        else throw new IOException("building the C conformance peer failed: " + cmd);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static Process startPeer(String impl, String role, String where, String mode) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (impl.equals("java")) {
            cmd.addAll(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                    System.getProperty("java.class.path"), JavaPeer.class.getName(), role,
                    role.equals("server") ? "--port" : "--connect", where, "--mode", mode));
        } else {
            assumeTrue(cPeer != null, "no C compiler / native sources here");
            cmd.addAll(List.of(cPeer.toString(), role, where, mode));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("WSDX_HANDSHAKE_MS", Integer.toString(HANDSHAKE_MS));
        return pb.start();
    }

    /** The peer under test is the server; the kit connects. */
    static int kitAsClient(String impl, String mode, ByteArrayOutputStream log) throws Exception {
        int port = freePort();
        Process peer = startPeer(impl, "server", Integer.toString(port), mode);
        try {
            for (int i = 0; i < 200; i++) { // until the peer listens
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    break;
                } catch (IOException e) {
                    Thread.sleep(50);
                }
            }
            return Main.run(new String[] {"client", "--connect", "127.0.0.1:" + port, "--mode", mode,
                    "--handshake-ms", Integer.toString(HANDSHAKE_MS)}, new PrintStream(log, true, StandardCharsets.UTF_8));
        } finally {
            peer.destroy();
            peer.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** The kit is the server; the peer under test connects. */
    static int kitAsServer(String impl, String mode, ByteArrayOutputStream log) throws Exception {
        int port = freePort();
        Process peer = startPeer(impl, "client", "127.0.0.1:" + port, mode);
        try {
            return Main.run(new String[] {"server", "--port", Integer.toString(port), "--mode", mode,
                    "--handshake-ms", Integer.toString(HANDSHAKE_MS)}, new PrintStream(log, true, StandardCharsets.UTF_8));
        } finally {
            peer.destroy();
            peer.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest(name = "S5 kit as {1} against the {0} peer, {2} mode")
    @CsvSource({"java,client,stream", "java,client,message", "java,server,stream", "java,server,message",
            "c,client,stream", "c,client,message", "c,server,stream", "c,server,message"})
    void S5_conformanceKitPasses(String impl, String role, String mode) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int failed = role.equals("client") ? kitAsClient(impl, mode, log) : kitAsServer(impl, mode, log);
        String out = log.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertEquals(0, failed, impl + " peer, kit as " + role + ", " + mode + ":\n" + out);
    }
}
