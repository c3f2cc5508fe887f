package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.wsdx.internal.WsdxNative;
import org.junit.jupiter.api.Test;

/** The library-wide calls of {@link Wsdx}, on a platform where the native library loads. */
class WsdxTest {

    @Test
    void availableHereWithoutACause() {
        assertTrue(Wsdx.isAvailable());
        assertNull(Wsdx.unavailabilityCause());
    }

    /** The native library's version agrees with the jar's in major.minor (the load checks it). */
    @Test
    void versionsAgreeInMajorAndMinor() {
        String v = Wsdx.version();
        assertTrue(v.matches("\\d+\\.\\d+\\.\\d+.*"), v);
        String jar = Wsdx.jarVersion();
        assertNotNull(jar);
        assertTrue(jar.startsWith(v.substring(0, v.lastIndexOf('.') + 1)), v + " against " + jar);
    }

    /** What {@code java -cp wsdx.jar dev.wsdx.Wsdx} prints. */
    @Test
    void theDescriptionNamesVersionsLibraryAndBackend() throws Exception {
        assertEquals("wsdx " + Wsdx.jarVersion() + ": native " + Wsdx.version() + " from " + WsdxNative.LOADED_FROM
                + ", backend " + Wsdx.backend(), Wsdx.describe());
    }

    @Test
    void aNegativeMemoryBudgetIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Wsdx.setMemoryBudget(-1));
        assertEquals("memory budget < 0: -1", e.getMessage());
    }

    @Test
    void openHandlesIsACount() {
        assertTrue(Wsdx.openHandles() >= 0);
    }
}
