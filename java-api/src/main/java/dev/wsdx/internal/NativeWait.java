package dev.wsdx.internal;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.spi.AbstractInterruptibleChannel;
import java.util.function.LongSupplier;

/**
 * A platform thread's blocking call that waits in the library, ended by {@link Thread#interrupt()}
 * as an {@link java.nio.channels.InterruptibleChannel}'s is. It borrows the JDK's own hook
 * ({@link AbstractInterruptibleChannel#begin()}): an interrupt closes the target on the interrupting
 * thread, the library's close wakes the waiting call (as {@code closesocket} does), and the call then
 * throws {@link ClosedByInterruptException}. Waiting in the library lets the kernel wake the caller
 * directly, one wake-up instead of two (the notifier, then an unpark). Virtual threads park instead
 * ({@link Readiness#park}): a wait in native code would pin their carrier. Internal: not part of the API.
 */
public final class NativeWait extends AbstractInterruptibleChannel {
    private final AutoCloseable target;

    /**
     * @param target what an interrupt closes (the connection or listener)
     */
    public NativeWait(AutoCloseable target) {
        this.target = target;
    }

    /**
     * Runs {@code call}, a native call that may wait, so that an interrupt before or during it
     * closes the target.
     *
     * @return the call's result
     * @throws ClosedByInterruptException if the thread was interrupted (its status stays set)
     */
    public long call(LongSupplier call) throws ClosedByInterruptException {
        begin();
        try {
            return call.getAsLong();
        } finally {
            endChecked();
        }
    }

    private void endChecked() throws ClosedByInterruptException {
        try {
            end(true); // completed: a close by anyone else is the native call's own result (WSAENOTSOCK)
        } catch (ClosedByInterruptException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException(e); // end(true) throws only ClosedByInterruptException
        }
    }

    /** Called once, by the first interrupt, on the interrupting thread. */
    @Override
    protected void implCloseChannel() throws IOException {
        try {
            target.close();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }
}
