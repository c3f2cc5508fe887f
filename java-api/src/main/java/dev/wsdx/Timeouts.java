package dev.wsdx;

import java.time.Duration;

/** Duration to native milliseconds. */
final class Timeouts {
    private Timeouts() {}

    /** {@code d} in ms, sub-ms parts rounded up, capped at {@code Integer.MAX_VALUE}. */
    static int millis(Duration d, String what) {
        if (d == null) throw new NullPointerException(what);
        if (d.isNegative()) throw new IllegalArgumentException("negative " + what + ": " + d);
        if (d.getSeconds() >= Integer.MAX_VALUE / 1000) return Integer.MAX_VALUE;
        long ms = d.getSeconds() * 1000 + (d.getNano() + 999_999) / 1_000_000;
        return (int) Math.min(ms, Integer.MAX_VALUE);
    }

    /** As {@link #millis} but zero is refused too (the library would read it as "the default"). */
    static int positiveMillis(Duration d, String what) {
        int ms = millis(d, what);
        if (ms == 0) throw new IllegalArgumentException(what + " must be positive: " + d);
        return ms;
    }
}
