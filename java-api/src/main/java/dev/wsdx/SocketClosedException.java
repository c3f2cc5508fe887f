package dev.wsdx;

/** {@code WSAENOTSOCK}: the socket was closed (S11). */
public class SocketClosedException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public SocketClosedException(String message) {
        super(WsaError.WSAENOTSOCK, message);
    }
}
