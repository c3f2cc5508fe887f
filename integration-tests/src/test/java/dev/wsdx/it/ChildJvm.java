package dev.wsdx.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM running a main class of these tests with this JVM's class path: for a second JDK
 * (virtual threads on JDK 25 while the build runs on 17) and for a second file-descriptor budget
 * (10,000 connections per side stay under `ulimit -n` 20000). Its stdout comes back line by line.
 */
final class ChildJvm implements AutoCloseable {
    /** The JDK with virtual threads these machines have (the build itself runs on JDK 17). */
    static final Path JDK25 = Paths.get("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");

    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private ChildJvm(Process process) {
        this.process = process;
        Thread pump = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) lines.add(l);
            } catch (IOException ignored) {
                // the child ended
            }
            lines.add("EOF");
        }, "child-stdout");
        pump.setDaemon(true);
        pump.start();
    }

    /** This JVM's java. */
    static Path currentJava() {
        return Paths.get(System.getProperty("java.home"), "bin", "java");
    }

    static boolean exists(Path java) {
        return Files.isExecutable(java);
    }

    static ChildJvm start(Path java, List<String> jvmArgs, Class<?> main, String... args) throws IOException {
        return start(List.of(java.toString()), jvmArgs, main, args);
    }

    /** The same under {@code ulimit -n openFiles}: the child's own descriptor budget. */
    static ChildJvm startWithOpenFiles(int openFiles, List<String> jvmArgs, Class<?> main, String... args)
            throws IOException {
        return start(List.of("sh", "-c", "ulimit -n " + openFiles + " && exec \"$0\" \"$@\"",
                currentJava().toString()), jvmArgs, main, args);
    }

    private static ChildJvm start(List<String> launcher, List<String> jvmArgs, Class<?> main, String... args)
            throws IOException {
        List<String> cmd = new ArrayList<>(launcher);
        String lib = System.getProperty("wsdx.library.path"); // the same library (native/mutate runs a mutant's)
        if (lib != null) cmd.add("-Dwsdx.library.path=" + lib);
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return new ChildJvm(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start());
    }

    /** The next line that starts with one of {@code prefixes} (others are echoed), or fails after {@code seconds}. */
    String await(long seconds, String... prefixes) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        for (;;) {
            String l = lines.poll(end - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (l == null) throw new AssertionError("child JVM said none of " + List.of(prefixes) + " in " + seconds + " s");
            System.out.println("[child] " + l);
            for (String p : prefixes) if (l.startsWith(p)) return l;
            if (l.equals("EOF")) throw new AssertionError("child JVM ended (exit " + exitCode() + ") before " + List.of(prefixes));
        }
    }

    private String exitCode() {
        try {
            return process.waitFor(5, TimeUnit.SECONDS) ? String.valueOf(process.exitValue()) : "still running";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly().waitFor();
    }
}
