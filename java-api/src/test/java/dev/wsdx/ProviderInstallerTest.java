package dev.wsdx;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

class ProviderInstallerTest {

    @Test
    void commandRunsTheToolKeptInTheDirectory(@TempDir Path dir) {
        ProviderInstaller pi = new ProviderInstaller(dir);
        assertEquals(dir.toAbsolutePath(), pi.directory());
        assertEquals(List.of(dir.resolve("wsdx-install.exe").toString(), "install", dir.resolve("wsdx.dll").toString()),
                pi.command("install", dir.resolve("wsdx.dll").toString()));
        assertEquals(List.of(dir.resolve("wsdx-install.exe").toString(), "list"), pi.command("list"));
        assertEquals(dir.toAbsolutePath(), pi.withTransparentChains(true).directory());
    }

    @Test
    void resourcesAreWhereJnaLooks() {
        assertEquals("win32-x86-64/wsdx-install.exe", ProviderInstaller.resource("win32-x86-64", ProviderInstaller.TOOL));
        assertEquals("win32-x86/wsdx-lsp.dll", ProviderInstaller.resource("win32-x86", ProviderInstaller.PROVIDER_DLL));
    }

    @Test
    void defaultDirectoryIsUnderProgramFiles() {
        assertEquals("wsdx", ProviderInstaller.DEFAULT_DIRECTORY.getFileName().toString());
    }

    @Test
    @DisabledOnOs(OS.WINDOWS)
    void offWindowsEveryVerbIsUnsupportedAndTouchesNothing(@TempDir Path dir) {
        ProviderInstaller pi = new ProviderInstaller(dir.resolve("never"));
        assertThrows(UnsupportedOperationException.class, pi::install);
        assertThrows(UnsupportedOperationException.class, pi::remove);
        assertThrows(UnsupportedOperationException.class, pi::list);
        assertThrows(UnsupportedOperationException.class, pi::repair);
        assertFalse(dir.resolve("never").toFile().exists(), "nothing unpacked");
    }

    @Test
    void installExceptionCarriesExitCodeAndOutput() {
        ProviderInstallException e = new ProviderInstallException("install", 1, "WSCInstallProvider: 10013\n");
        assertEquals(1, e.exitCode());
        assertEquals("wsdx-install install failed (exit 1): WSCInstallProvider: 10013", e.getMessage());
    }

    /** Issue 15.5: the wait is bounded by the timeout, and the tool is never killed (it may be writing). */
    @Test
    @DisabledOnOs(OS.WINDOWS)
    void I15_5_timeoutFiresAndLeavesTheToolRunning(@TempDir Path dir) throws Exception {
        Path done = dir.resolve("finished");
        List<String> cmd = List.of("sh", "-c", "echo writing; sleep 1; touch '" + done + "'");
        ProviderInstallException e = assertThrows(ProviderInstallException.class,
                () -> ProviderInstaller.exec(cmd, Duration.ofMillis(50)));
        assertEquals(-1, e.exitCode());
        assertFalse(Files.exists(done), "the exception came before the tool ended");
        for (int i = 0; i < 1000 && !Files.exists(done); i++) Thread.sleep(20); // bounded: 20 s
        assertTrue(Files.exists(done), "the tool was left to finish");
    }

    /** Issue 15.5: output larger than a pipe is read while waiting, and the exit code comes through. */
    @Test
    @DisabledOnOs(OS.WINDOWS)
    void I15_5_largeOutputIsReadOnItsOwnThread() throws IOException {
        List<String> cmd = List.of("sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x; exit 7");
        ProviderInstaller.Result r = ProviderInstaller.exec(cmd, Duration.ofSeconds(60));
        assertEquals(7, r.exit);
        assertEquals(1_000_000, r.output.length());
    }

    /** Issue 15.6: no elevation is refused before anything runs; the tool's own refusals map to the same type. */
    @Test
    void I15_6_withoutAdministratorRightsAccessIsDenied() {
        AccessDeniedException e = assertThrows(AccessDeniedException.class,
                () -> ProviderInstaller.requireAdministrator(false));
        assertTrue(e.getMessage().contains("elevated administrator"), e.getMessage());
        assertDoesNotThrow(() -> ProviderInstaller.requireAdministrator(true));
        assertInstanceOf(AccessDeniedException.class, ProviderInstaller.failure("install", 3, "not elevated"));
        assertInstanceOf(AccessDeniedException.class, ProviderInstaller.failure("install", 5, "Users may write"));
        assertInstanceOf(ProviderInstallException.class, ProviderInstaller.failure("install", 1, "WSC failed"));
    }

    /** Issue 9.5: versioned file names; older versions go, the current one and unrelated files stay. */
    @Test
    void I9_5_versionedNamesAndOldVersionsCleanedUp(@TempDir Path dir) throws IOException {
        byte[] a = "build a".getBytes(StandardCharsets.US_ASCII), b = "build b".getBytes(StandardCharsets.US_ASCII);
        String na = ProviderInstaller.versionedName("wsdx-lsp", a), nb = ProviderInstaller.versionedName("wsdx-lsp", b);
        assertTrue(na.matches("wsdx-lsp-[0-9a-f]{12}\\.dll"), na);
        assertEquals(na, ProviderInstaller.versionedName("wsdx-lsp", a.clone()));
        assertNotEquals(na, nb);
        for (String n : List.of(na, nb, "wsdx-install.exe", "wsdx-notes.dll")) Files.writeString(dir.resolve(n), n);
        assertEquals(List.of(na), ProviderInstaller.removeOldVersions(dir, nb));
        assertTrue(Files.exists(dir.resolve(nb)));
        assertTrue(Files.exists(dir.resolve("wsdx-install.exe")));
        assertTrue(Files.exists(dir.resolve("wsdx-notes.dll")), "only our versioned names are touched");
    }

    /**
     * Issue 15.1: a file planted under the versioned name (public, and of the same size) before the folder
     * was protected is replaced, not trusted by its name. Broken by keeping any file of the right size.
     */
    @Test
    void I15_1_aPlantedFileOfTheSameNameAndSizeIsReplaced(@TempDir Path dir) throws IOException {
        byte[] ours = "the provider build".getBytes(StandardCharsets.US_ASCII);
        byte[] planted = "a planted DLL!!!!!".getBytes(StandardCharsets.US_ASCII);
        assertEquals(ours.length, planted.length);
        Path to = dir.resolve(ProviderInstaller.versionedName("wsdx-lsp", ours));
        Files.write(to, planted);
        assertEquals(to, ProviderInstaller.placeBytes(to, ours));
        assertArrayEquals(ours, Files.readAllBytes(to), "the planted content is gone");
        java.nio.file.attribute.FileTime before = Files.getLastModifiedTime(to);
        Files.setLastModifiedTime(to, java.nio.file.attribute.FileTime.fromMillis(before.toMillis() - 60_000));
        java.nio.file.attribute.FileTime aged = Files.getLastModifiedTime(to);
        ProviderInstaller.placeBytes(to, ours);
        assertEquals(aged, Files.getLastModifiedTime(to), "our own file is kept (it may be loaded and locked)");
    }

    /** The command line: bad arguments exit 2 with the usage, a verb off Windows exits 1 and says why. */
    @Test
    @DisabledOnOs(OS.WINDOWS)
    void commandLineExitCodes(@TempDir Path dir) {
        for (String[] bad : new String[][] {{}, {"--chains"}, {"frobnicate"}, {"install", "a", "b"},
                {"LIST"}, {"list", "a", "b", "--chains"}}) {
            Cli r = cli(bad);
            assertEquals(2, r.exit, List.of(bad).toString());
            assertTrue(r.err.startsWith("usage: ProviderInstaller install|remove|list|repair"), r.err);
            assertEquals("", r.out);
        }
        for (String verb : List.of("install", "remove", "list", "repair")) {
            Path d = dir.resolve(verb);
            Cli r = cli(verb, d.toString(), "--chains");
            assertEquals(1, r.exit, verb);
            assertEquals(verb + " failed: the Winsock catalog exists only on Windows", r.err.strip());
            assertFalse(Files.exists(d), "nothing unpacked");
        }
        assertEquals(1, cli("list").exit); // the default directory, still refused off Windows
    }

    private static final class Cli {
        final int exit;
        final String out, err;

        Cli(int exit, String out, String err) {
            this.exit = exit;
            this.out = out;
            this.err = err;
        }
    }

    private static Cli cli(String... args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int exit = ProviderInstaller.cli(args, new java.io.PrintStream(out, true, StandardCharsets.UTF_8),
                new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
        return new Cli(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
