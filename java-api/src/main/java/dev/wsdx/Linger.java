package dev.wsdx;

import java.time.Duration;
import java.util.Objects;

/**
 * A linger policy for {@link Connection#close()}: {@code SO_DONTLINGER} or {@code SO_LINGER} with a
 * timeout in whole seconds. Immutable.
 */
public final class Linger {
    /** Largest linger timeout in seconds (an unsigned 16-bit value, as Winsock's {@code l_linger}). */
    public static final int MAX_SECONDS = 65535;

    private static final Linger DONT_LINGER = new Linger(false, 0);
    private static final Linger ABORTIVE = new Linger(true, 0);

    private final boolean on;
    private final int seconds;

    private Linger(boolean on, int seconds) {
        this.on = on;
        this.seconds = seconds;
    }

    /**
     * {@code SO_DONTLINGER}, the default: close returns at once, queued data is sent, then FIN (S7).
     *
     * @return the policy
     */
    public static Linger dontLinger() {
        return DONT_LINGER;
    }

    /**
     * {@code SO_LINGER} on with timeout 0: close drops unsent data and resets the connection (S8).
     *
     * @return the policy
     */
    public static Linger abortive() {
        return ABORTIVE;
    }

    /**
     * {@code SO_LINGER} on with a timeout (S9, S10). Sub-second parts round up to whole seconds;
     * {@link Duration#ZERO} gives {@link #abortive()}.
     *
     * @param timeout the longest wait
     * @return the policy
     * @throws IllegalArgumentException if {@code timeout} is null, negative or over {@value #MAX_SECONDS} s
     */
    public static Linger timeout(Duration timeout) {
        if (timeout == null) throw new IllegalArgumentException("linger timeout is null");
        if (timeout.isNegative()) throw new IllegalArgumentException("negative linger timeout: " + timeout);
        long s = timeout.getSeconds();
        if (timeout.getNano() > 0) s++;
        if (s > MAX_SECONDS) {
            throw new IllegalArgumentException("linger timeout over " + MAX_SECONDS + " s: " + timeout);
        }
        return s == 0 ? ABORTIVE : new Linger(true, (int) s);
    }

    /**
     * Whether lingering is on.
     *
     * @return true for {@code SO_LINGER}, false for {@code SO_DONTLINGER}
     */
    public boolean isOn() {
        return on;
    }

    /**
     * The linger timeout.
     *
     * @return seconds; 0 when {@linkplain #isOn() off} or abortive
     */
    public int seconds() {
        return seconds;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof Linger)) return false;
        Linger l = (Linger) o;
        return on == l.on && seconds == l.seconds;
    }

    @Override
    public int hashCode() {
        return Objects.hash(on, seconds);
    }

    @Override
    public String toString() {
        if (!on) return "Linger[SO_DONTLINGER]";
        return seconds == 0 ? "Linger[SO_LINGER 0 s, abortive]" : "Linger[SO_LINGER " + seconds + " s]";
    }
}
