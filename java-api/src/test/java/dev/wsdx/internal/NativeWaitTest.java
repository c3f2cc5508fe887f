package dev.wsdx.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.ClosedByInterruptException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The interruptible wait of platform threads' blocking calls (robustness.md F9, F10). The JDK runs the
 * interrupt hook only for an interrupt from another thread; on JDK 17, which runs these tests, that
 * hook runs before {@code Thread.interrupt} returns the blocker lock, so the call's end sees it.
 */
class NativeWaitTest {
    private final AtomicInteger closes = new AtomicInteger();
    private final List<Runnable> closer = new CopyOnWriteArrayList<>(); // the hook runs on the interrupting thread
    private final List<Long> lost = new ArrayList<>();
    private final NativeWait wait = new NativeWait(closes::incrementAndGet, closer::add);

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    @Test
    void aCallThatIsNotInterruptedReturnsItsResultAndClosesNothing() throws Exception {
        assertEquals(7, wait.call(() -> 7, lost::add));
        assertEquals(0, closes.get());
        assertTrue(closer.isEmpty());
        assertTrue(lost.isEmpty());
    }

    /** F10: the call succeeded (an accepted handle) but the interrupt won: the result is handed back to release. */
    @Test
    void F10_aResultTheInterruptWinsOverIsReleasedAndTheTargetClosed() {
        assertThrows(ClosedByInterruptException.class, () -> wait.call(() -> interruptedByAnotherThread(42), lost::add));
        assertEquals(List.of(42L), lost);
        assertTrue(Thread.currentThread().isInterrupted(), "the status stays set");
    }

    /**
     * F9: the interrupt hook only hands the close to its executor (it runs inside Thread.interrupt);
     * the interrupted thread closes itself before it throws, so the target is closed when it reports.
     */
    @Test
    void F9_theHookOnlyStartsTheCloseAndTheInterruptedThreadFinishesIt() {
        assertThrows(ClosedByInterruptException.class, () -> wait.call(() -> interruptedByAnotherThread(-1), lost::add));
        assertEquals(1, closer.size(), "the hook handed the close over");
        assertEquals(1, closes.get(), "closed once, by the interrupted thread before it threw, not in the hook");
    }

    /**
     * A native call that returns {@code result} once another thread interrupted this one (the JDK runs
     * the hook only for an interrupt from another thread), as if it came just as the call ended.
     */
    private static long interruptedByAnotherThread(long result) {
        Thread me = Thread.currentThread();
        new Thread(me::interrupt).start();
        while (!me.isInterrupted()) Thread.onSpinWait();
        return result;
    }

    /** An interrupt pending at the call: no native call, and the close is made outside the JDK's hook. */
    @Test
    void anInterruptBeforeTheCallSkipsTheCallAndClosesOnThisThread() {
        Thread.currentThread().interrupt();
        boolean[] called = new boolean[1];
        assertThrows(ClosedByInterruptException.class, () -> wait.call(() -> {
            called[0] = true;
            return 0;
        }, lost::add));
        assertFalse(called[0], "the native call is skipped");
        assertTrue(closer.isEmpty(), "no other thread needed");
        assertEquals(1, closes.get(), "closed once, by this thread");
        assertTrue(lost.isEmpty(), "nothing was received to release");
        assertTrue(Thread.currentThread().isInterrupted(), "the status stays set");
    }

    /** The call itself fails while an interrupt comes: its failure is reported, and the target is closed. */
    @Test
    void aFailingCallIsReportedWithTheInterruptSuppressedAndTheTargetClosed() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> wait.call(() -> {
            interruptedByAnotherThread(0);
            throw new IllegalStateException("made to fail by the test");
        }, lost::add));
        assertEquals(1, e.getSuppressed().length);
        assertTrue(e.getSuppressed()[0] instanceof ClosedByInterruptException);
        assertEquals(1, closes.get());
    }
}
