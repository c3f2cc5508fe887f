package dev.wsdx.it;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.jna.Native;
import dev.wsdx.Wsdx;
import dev.wsdx.internal.NativeStatus;
import dev.wsdx.internal.WsdxNative;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 10.8 and 15.8: the jar as users get it. The library loads by absolute path from the jar's
 * own copy and its version agrees with the jar's; an unsupported platform gives a clear
 * {@link Wsdx#unavailabilityCause()} instead of a raw {@link UnsatisfiedLinkError}; the jar works as a
 * named module that exports only {@code dev.wsdx}.
 */
class PackagingTest {

    @Test
    void theLibraryIsLoadedByAbsolutePathAndAgreesWithTheJar() {
        assertTrue(Wsdx.isAvailable(), String.valueOf(Wsdx.unavailabilityCause()));
        assertNull(Wsdx.unavailabilityCause());
        assertTrue(new File(WsdxNative.LOADED_FROM).isAbsolute(), WsdxNative.LOADED_FROM);
        assertTrue(new File(WsdxNative.LOADED_FROM).isFile(), WsdxNative.LOADED_FROM);
        assertTrue(NativeStatus.sameMajorMinor(Wsdx.version(), Wsdx.jarVersion()),
                "native " + Wsdx.version() + " vs jar " + Wsdx.jarVersion());
        assertFalse(Wsdx.jarVersion().equals("unknown"), "the build wrote the jar's version");
    }

    /** An OS/CPU the jar has no library for: a clear cause, exit 1, no raw linkage error. */
    @Test
    void anUnsupportedPlatformIsReportedClearly() throws Exception {
        Result r = java(List.of("-Dos.arch=aarch64", "-cp", classPath(), "dev.wsdx.Wsdx"));
        assertEquals(1, r.exit, r.out);
        assertTrue(r.out.contains("not available"), r.out);
        assertFalse(r.out.contains("NoClassDefFoundError"), r.out);
    }

    @Test
    void aMissingLibraryFileIsReportedClearly() throws Exception {
        Result r = java(List.of("-Dwsdx.library.path=/nonexistent/libwsdx.so", "-cp", classPath(), "dev.wsdx.Wsdx"));
        assertEquals(1, r.exit, r.out);
        assertTrue(r.out.contains("wsdx.library.path=/nonexistent/libwsdx.so"), r.out);
    }

    /**
     * Issue 15.8: another library of the same name on the search path (here a real shared library that
     * is not wsdx, in the working directory and on the library paths) is never bound: wsdx loads the
     * jar's copy by absolute path. By bare name, JNA would load the decoy and fail to bind.
     */
    @Test
    void aDecoyLibraryOfTheSameNameIsNotLoaded(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path home = Path.of(System.getProperty("java.home"));
        Path decoy = Files.exists(home.resolve("lib/libzip.so")) ? home.resolve("lib/libzip.so") : home.resolve("bin/zip.dll");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(decoy), "no shared library to use as a decoy");
        Files.copy(decoy, dir.resolve(System.mapLibraryName("wsdx")));
        Result r = java(List.of("-Djna.library.path=" + dir, "-Djava.library.path=" + dir, "-cp", classPath(),
                "dev.wsdx.Wsdx"), dir);
        assertEquals(0, r.exit, r.out);
        assertFalse(r.out.contains(dir.toString()), r.out);
    }

    /** Issue 10.9: at DEBUG the library load is logged with its path, version and backend. */
    @Test
    void theLibraryLoadIsLoggedAtDebug() throws Exception {
        Result r = java(List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=debug", "-cp", classPath(), "dev.wsdx.Wsdx"));
        assertEquals(0, r.exit, r.out);
        assertTrue(r.out.contains("DEBUG dev.wsdx.internal.NativeStatus - wsdx " + Wsdx.version() + " loaded from /"), r.out);
        assertTrue(r.out.contains("backend in-process") || r.out.contains("backend installed"), r.out);
    }

    /** Issue 10.9: at DEBUG a rejected peer and a protocol error close are logged. */
    @Test
    void rejectedPeersAndProtocolErrorsAreLoggedAtDebug() throws Exception {
        Result r = java(List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=debug", "-cp", classPath(),
                "dev.wsdx.it.LoggingProbe"));
        assertEquals(0, r.exit, r.out);
        assertTrue(r.out.contains("probe close event PROTOCOL_ERROR"), r.out);
        assertTrue(r.out.contains("rejected 1 peer(s)"), r.out);
        assertTrue(r.out.contains("peer close PROTOCOL_ERROR (WSAEMSGSIZE)"), r.out);
    }

    @Test
    void theJarIsANamedModuleThatExportsOnlyTheApi() throws Exception {
        String jar = jarOf(Wsdx.class);
        assertTrue(jar.endsWith(".jar"), "run against the packaged jar: " + jar);
        String mp = String.join(File.pathSeparator, jar, jarOf(Native.class), jarOf(org.slf4j.Logger.class));
        Result d = java(List.of("--module-path", mp, "--describe-module", "dev.wsdx"));
        assertEquals(0, d.exit, d.out);
        assertTrue(d.out.contains("exports dev.wsdx"), d.out);
        assertFalse(d.out.contains("exports dev.wsdx.internal"), d.out);
        Result r = java(List.of("--enable-native-access=com.sun.jna", "--module-path", mp, "-m", "dev.wsdx/dev.wsdx.Wsdx"));
        assertEquals(0, r.exit, r.out);
        assertTrue(r.out.contains("wsdx " + Wsdx.jarVersion() + ": native " + Wsdx.version()), r.out);
    }

    private static String classPath() {
        return System.getProperty("java.class.path");
    }

    private static String jarOf(Class<?> c) throws URISyntaxException {
        return new File(c.getProtectionDomain().getCodeSource().getLocation().toURI()).getPath();
    }

    private static final class Result {
        final int exit;
        final String out;

        Result(int exit, String out) {
            this.exit = exit;
            this.out = out;
        }
    }

    private static Result java(List<String> args) throws IOException, InterruptedException {
        return java(args, null);
    }

    private static Result java(List<String> args, Path dir) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (dir != null) pb.directory(dir.toFile());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes(); // until the child exits and closes it
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
