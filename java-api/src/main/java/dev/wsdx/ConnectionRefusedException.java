package dev.wsdx;

import java.net.ConnectException;

/** {@code WSAECONNREFUSED}: nothing listens at the remote address. A {@link ConnectException}, as java.net's. */
public class ConnectionRefusedException extends ConnectException implements WsaCoded {
    private static final long serialVersionUID = 1L;

    /**
     * A refused connect.
     *
     * @param message the detail message
     */
    public ConnectionRefusedException(String message) {
        super(message);
    }

    @Override
    public int wsaError() {
        return WsaError.WSAECONNREFUSED;
    }
}
