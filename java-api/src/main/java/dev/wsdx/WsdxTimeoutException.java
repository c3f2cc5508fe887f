package dev.wsdx;

/**
 * {@code WSAETIMEDOUT}: a timed read, accept or connect ran out of time, or a send outlived the
 * {@linkplain Connection#setSendTimeout send timeout} (the connection is then aborted).
 */
public class WsdxTimeoutException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public WsdxTimeoutException(String message) {
        super(WsaError.WSAETIMEDOUT, message);
    }
}
