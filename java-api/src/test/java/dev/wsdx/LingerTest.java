package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LingerTest {
    @Test
    void dontLingerIsOffWithZeroSeconds() {
        Linger l = Linger.dontLinger();
        assertFalse(l.isOn());
        assertEquals(0, l.seconds());
        assertEquals("Linger[SO_DONTLINGER]", l.toString());
    }

    @Test
    void abortiveIsOnWithZeroSeconds() {
        Linger l = Linger.abortive();
        assertTrue(l.isOn());
        assertEquals(0, l.seconds());
        assertNotEquals(Linger.dontLinger(), l);
    }

    @Test
    void timeoutZeroIsAbortive() {
        assertSame(Linger.abortive(), Linger.timeout(Duration.ZERO));
    }

    @Test
    void timeoutWholeSeconds() {
        Linger l = Linger.timeout(Duration.ofSeconds(5));
        assertTrue(l.isOn());
        assertEquals(5, l.seconds());
        assertEquals(Linger.timeout(Duration.ofMillis(5000)), l);
        assertEquals(Linger.timeout(Duration.ofMillis(5000)).hashCode(), l.hashCode());
    }

    @Test
    void subSecondPartsRoundUp() {
        assertEquals(1, Linger.timeout(Duration.ofNanos(1)).seconds());
        assertEquals(1, Linger.timeout(Duration.ofMillis(999)).seconds());
        assertEquals(2, Linger.timeout(Duration.ofMillis(1001)).seconds());
    }

    @Test
    void maximumIs65535Seconds() {
        assertEquals(65535, Linger.timeout(Duration.ofSeconds(65535)).seconds());
        assertThrows(IllegalArgumentException.class, () -> Linger.timeout(Duration.ofSeconds(65536)));
        assertThrows(IllegalArgumentException.class, () -> Linger.timeout(Duration.ofSeconds(65535).plusNanos(1)));
        assertThrows(IllegalArgumentException.class, () -> Linger.timeout(Duration.ofDays(100_000)));
    }

    @Test
    void nullAndNegativeAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Linger.timeout(null));
        assertThrows(IllegalArgumentException.class, () -> Linger.timeout(Duration.ofMillis(-1)));
    }

    /** equals is among policies only; the three kinds of policy hash apart. */
    @Test
    void equalityIsAmongPoliciesAndHashesSpread() {
        assertNotEquals(Linger.abortive(), "Linger[on, 0 s]");
        assertNotEquals(Linger.abortive(), null);
        java.util.Set<Integer> hashes = new java.util.HashSet<>(java.util.List.of(Linger.dontLinger().hashCode(),
                Linger.abortive().hashCode(), Linger.timeout(Duration.ofSeconds(5)).hashCode()));
        assertEquals(3, hashes.size());
    }
}
