package dev.wsdx;

import java.net.SocketTimeoutException;

/**
 * {@code WSAETIMEDOUT}: a read, accept or connect with a positive timeout ran out of time, or a send outlived the
 * {@linkplain Connection#setSendTimeout send timeout} (the connection is then aborted). A
 * {@link SocketTimeoutException}, as {@code java.net.Socket} throws; after a timed read, accept or
 * connect the connection stays usable.
 */
public class WsdxTimeoutException extends SocketTimeoutException implements WsaCoded {
    private static final long serialVersionUID = 1L;

    /**
     * A timeout.
     *
     * @param message the detail message
     */
    public WsdxTimeoutException(String message) {
        super(message);
    }

    @Override
    public int wsaError() {
        return WsaError.WSAETIMEDOUT;
    }
}
