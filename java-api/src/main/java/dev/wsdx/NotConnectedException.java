package dev.wsdx;

/** {@code WSAENOTCONN}: the socket is not connected (S4). */
public class NotConnectedException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public NotConnectedException(String message) {
        super(WsaError.WSAENOTCONN, message);
    }
}
