package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TimeoutsTest {
    @Test
    void millisRoundsSubMillisecondPartsUp() {
        assertEquals(0, Timeouts.millis(Duration.ZERO, "t"));
        assertEquals(1, Timeouts.millis(Duration.ofNanos(1), "t"));
        assertEquals(1500, Timeouts.millis(Duration.ofMillis(1500), "t"));
        assertEquals(1501, Timeouts.millis(Duration.ofMillis(1500).plusNanos(1), "t"));
    }

    @Test
    void hugeDurationsCapAtIntMax() {
        assertEquals(Integer.MAX_VALUE, Timeouts.millis(Duration.ofDays(365_000), "t"));
        assertEquals(Integer.MAX_VALUE, Timeouts.millis(Duration.ofMillis(Integer.MAX_VALUE + 5L), "t"));
    }

    @Test
    void negativeAndNullAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Timeouts.millis(Duration.ofMillis(-1), "t"));
        assertThrows(NullPointerException.class, () -> Timeouts.millis(null, "t"));
    }

    @Test
    void positiveMillisRejectsZero() {
        assertThrows(IllegalArgumentException.class, () -> Timeouts.positiveMillis(Duration.ZERO, "t"));
        assertEquals(1, Timeouts.positiveMillis(Duration.ofNanos(1), "t"));
    }
}
