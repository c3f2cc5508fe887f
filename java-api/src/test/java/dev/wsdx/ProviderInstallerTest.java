package dev.wsdx;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
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
    }

    @Test
    void resourcesAreWhereJnaLooks() {
        assertEquals("win32-x86-64/wsdx-install.exe", ProviderInstaller.resource("win32-x86-64", ProviderInstaller.TOOL));
        assertEquals("win32-x86/wsdx.dll", ProviderInstaller.resource("win32-x86", ProviderInstaller.DLL));
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
}
