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
 * then waits for the close to finish and throws {@link ClosedByInterruptException}. Waiting in the
 * library lets the kernel wake the caller directly: one wake-up instead of two (the notifier, then an
 * unpark). Virtual threads park instead ({@link Readiness#park}): a wait in native code would pin
 * their carrier. Internal: not part of the API.
 */
public final class NativeWait extends AbstractInterruptibleChannel {
    private final AutoCloseable target;
    private final Executor closer;

    /**
     * @param target what an interrupt closes (the connection or listener)
     * @param closer where that close runs: never inside {@link Thread#interrupt()}, which holds the
     *     interrupted thread's blocker lock (JDK 17) while the hook runs, nor on the interrupted thread
     *     before its call has returned
     */
    public NativeWait(AutoCloseable target, Executor closer) {
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
        begin();
        long r;
        try {
            r = call.getAsLong();
        } catch (RuntimeException | Error e) {
            endQuietly();
            throw e;
        }
        try {
            end(true); // completed: a close by anyone else is the native call's own result (WSAENOTSOCK)
        } catch (ClosedByInterruptException e) {
            lost.accept(r);
            closeTarget(e); // the close the interrupt started: done before this call reports it
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException(e); // end(true) throws only ClosedByInterruptException
        }
        return r;
    }

    private void endQuietly() {
        try {
            end(true);
        } catch (IOException ignored) {
            // the call's own exception is the one to report; the interrupt status stays set
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
     * Called once, by the first interrupt (on the interrupting thread, or on the interrupted one on
     * newer JDKs): only starts the close, whose library call wakes the waiting call.
     */
    @Override
    protected void implCloseChannel() {
        try {
            closer.execute(this::closeQuietly);
        } catch (RuntimeException refused) {
            closeQuietly(); // a refusing executor: close here rather than leave the call blocked
        }
    }

    private void closeQuietly() {
        try {
            target.close();
        } catch (Exception ignored) {
            // the interrupted thread closes again and reports a failure as suppressed
        }
    }
}
