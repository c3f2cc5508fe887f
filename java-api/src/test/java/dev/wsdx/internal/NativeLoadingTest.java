package dev.wsdx.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which library file is loaded, and the version check made before it is used. */
class NativeLoadingTest {

    @Test
    void majorAndMinorMustAgree() {
        assertTrue(NativeStatus.sameMajorMinor("0.2.0", "0.2.0-SNAPSHOT"));
        assertTrue(NativeStatus.sameMajorMinor("0.2.7", "0.2.1"));
        assertTrue(NativeStatus.sameMajorMinor("1.4", "1.4-rc1"));
        assertFalse(NativeStatus.sameMajorMinor("0.2.0", "0.3.0"));
        assertFalse(NativeStatus.sameMajorMinor("0.2.0", "0.1.0-SNAPSHOT"));
        assertFalse(NativeStatus.sameMajorMinor("1.2.0", "0.2.0"));
        assertFalse(NativeStatus.sameMajorMinor("0", "0.2.0"));
        assertFalse(NativeStatus.sameMajorMinor("1.0.0", "1"));
        assertFalse(NativeStatus.sameMajorMinor("0.2.0", "unknown"));
    }

    /** -Dwsdx.library.path names a file, or a directory holding the platform's library name. */
    @Test
    void thePropertyNamesAFileOrADirectory(@TempDir Path dir) throws Exception {
        assertEquals(null, NativeStatus.cause()); // the real library is loaded first, before the property changes
        Path lib = Files.createFile(dir.resolve(System.mapLibraryName("wsdx")));
        String was = System.getProperty(WsdxNative.LIBRARY_PATH_PROPERTY);
        try {
            System.setProperty(WsdxNative.LIBRARY_PATH_PROPERTY, dir.toString());
            assertEquals(lib.toFile(), WsdxNative.libraryFile());
            System.setProperty(WsdxNative.LIBRARY_PATH_PROPERTY, lib.toString());
            assertEquals(lib.toFile(), WsdxNative.libraryFile());
            Path missing = dir.resolve("nothing-here.so");
            System.setProperty(WsdxNative.LIBRARY_PATH_PROPERTY, missing.toString());
            UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, WsdxNative::libraryFile);
            assertTrue(e.getMessage().contains("no such library file"), e.getMessage());
            System.setProperty(WsdxNative.LIBRARY_PATH_PROPERTY, "");
            File fromJar = WsdxNative.libraryFile(); // empty: the copy for this platform
            assertTrue(fromJar.isFile(), fromJar.toString());
        } finally {
            if (was == null) System.clearProperty(WsdxNative.LIBRARY_PATH_PROPERTY);
            else System.setProperty(WsdxNative.LIBRARY_PATH_PROPERTY, was);
        }
    }
}
