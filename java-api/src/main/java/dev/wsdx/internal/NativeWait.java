package dev.wsdx.internal;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.spi.AbstractInterruptibleChannel;
import java.util.concurrent.Executor;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * A platform thread's blocking call that waits in the library, ended by {@link Thread#interrupt()}
 * as an {@link java.nio.channels.InterruptibleChannel}'s is. It borrows the JDK's own hook
 * ({@link AbstractInterruptibleChannel#begin()}): an interrupt starts closing the target, the
 * library's close wakes the waiting call (as {@code closesocket} does), and the interrupted thread
 * then waits until the handle is released (its close event may still be on its way) and throws
 * {@link ClosedByInterruptException}. Waiting in the
 * library lets the kernel wake the caller directly: one wake-up instead of two (the notifier, then an
 * unpark). Virtual threads park instead ({@link Readiness#park}): a wait in native code would pin
 * their carrier. Internal: not part of the API.
 */
public final class NativeWait extends AbstractInterruptibleChannel {
    /**
     * Where an interrupt's close runs when the hook is called by the interrupting thread: never inside
     * {@link Thread#interrupt()}, which holds the interrupted thread's blocker lock (JDK 17) while the
     * hook runs, and never on a pool that application code can fill (the close event threads): an
     * interrupt must end the call whatever else is waiting. Interrupts are rare: a thread per close.
     */
    private static final Executor INTERRUPT_CLOSER = command -> {
        Thread t = new Thread(command, "wsdx-close");
        t.setDaemon(true);
        t.start();
    };
    /** The NativeWait whose call this thread is making, if any. */
    private static final ThreadLocal<NativeWait> IN_CALL = new ThreadLocal<>();
    /** Set by the hook when it ran on the calling thread itself, inside {@code begin()}. */
    private static final ThreadLocal<Boolean> INTERRUPTED_AT_BEGIN = new ThreadLocal<>();

    private final AutoCloseable target;
    private final Executor closer;

    /**
     * @param target what an interrupt closes (the connection or listener)
     */
    public NativeWait(AutoCloseable target) {
        this(target, INTERRUPT_CLOSER);
    }

    /**
     * Closes {@code target} on a thread of its own, never a pool that application code can fill: for a
     * close that cannot be made where it is asked for (an interrupt hook, the notifier thread).
     *
     * @param target what to close; a failure is dropped (whoever waits for the close reports its own)
     */
    public static void closeElsewhere(AutoCloseable target) {
        closeVia(INTERRUPT_CLOSER, target);
    }

    private static void closeVia(Executor closer, AutoCloseable target) {
        try {
            closer.execute(() -> closeQuietly(target));
        } catch (RuntimeException | OutOfMemoryError noThread) {
            closeQuietly(target); // no thread for it: close here rather than not at all (or leave a call blocked)
        }
    }

    /** As {@link #NativeWait(AutoCloseable)}, with the executor an interrupting thread hands the close to (tests). */
    NativeWait(AutoCloseable target, Executor closer) {
        this.target = target;
        this.closer = closer;
    }

    /**
     * Runs {@code call}, a native call that may wait, so that an interrupt before or during it closes
     * the target.
     *
     * @param lost given the call's result if the interrupt wins after the call succeeded (an accepted
     *     handle to release); not called otherwise
     * @return the call's result
     * @throws ClosedByInterruptException if the thread was interrupted (its status stays set); the
     *     target is closed by then
     */
    public long call(LongSupplier call, LongConsumer lost) throws ClosedByInterruptException {
        NativeWait outer = IN_CALL.get();
        IN_CALL.set(this);
        try {
            return call0(call, lost);
        } finally {
            if (outer == null) IN_CALL.remove();
            else IN_CALL.set(outer);
        }
    }

    private long call0(LongSupplier call, LongConsumer lost) throws ClosedByInterruptException {
        begin();
        if (INTERRUPTED_AT_BEGIN.get() != null) { // an interrupt was pending: no call, close out here
            INTERRUPTED_AT_BEGIN.remove();
            ClosedByInterruptException e = interruptAtEnd(); // the hook recorded this thread's interrupt
            if (e == null) e = new ClosedByInterruptException();
            closeTarget(e);
            throw e;
        }
        long r;
        try {
            r = call.getAsLong();
        } catch (RuntimeException | Error failure) {
            ClosedByInterruptException e = interruptAtEnd(); // the failure is the one to report
            if (e != null) {
                closeTarget(e);
                failure.addSuppressed(e);
            }
            throw failure;
        }
        // completed: a close by anyone else is the native call's own result (WSAENOTSOCK)
        ClosedByInterruptException e = interruptAtEnd();
        if (e != null) {
            lost.accept(r);
            closeTarget(e); // the close the interrupt started: done before this call reports it
            throw e;
        }
        return r;
    }

    /** {@code end(true)}: the exception it reports for this thread's interrupt, else null. */
    private ClosedByInterruptException interruptAtEnd() {
        try {
            end(true);
            return null;
        } catch (ClosedByInterruptException e) {
            return e;
        } catch (IOException impossible) {
            throw new IllegalStateException(impossible); // end(true) throws only ClosedByInterruptException
        }
    }

    private void closeTarget(ClosedByInterruptException e) {
        try {
            target.close(); // waits for the close in progress (the close lock), or makes it
        } catch (Exception s) {
            e.addSuppressed(s);
        }
    }

    /**
     * Called once, by the first interrupt, under the JDK's own lock for this channel, so it never
     * closes here. On the calling thread (an interrupt pending at {@code begin()}) it only notes it:
     * the call is skipped and the thread closes after {@code end}. On the interrupting thread it
     * starts the close elsewhere; the library's close wakes the call.
     */
    @Override
    protected void implCloseChannel() {
        if (IN_CALL.get() == this) {
            INTERRUPTED_AT_BEGIN.set(Boolean.TRUE);
            return;
        }
        closeVia(closer, target);
    }

    private static void closeQuietly(AutoCloseable target) {
        try {
            target.close();
        } catch (Exception ignored) {
            // the interrupted thread closes again and reports a failure as suppressed
        }
    }
}
