package dev.wsdx;

/**
 * Receives the close event (FD_CLOSE) of a {@link Connection}, once, on the executor it was
 * registered with. See {@link Connection#onClose(CloseListener, java.util.concurrent.Executor)}.
 */
@FunctionalInterface
public interface CloseListener {
    /**
     * Called exactly once when the connection closes (R1–R5), or when it is closed locally first.
     * An exception thrown here is logged and otherwise ignored.
     *
     * @param connection the connection that closed
     * @param event what happened
     */
    void onClose(Connection connection, CloseEvent event);
}
