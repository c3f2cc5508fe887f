package dev.wsdx;

/** {@code WSAECONNRESET}: the peer reset the connection (R3, S8). */
public class ConnectionResetException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public ConnectionResetException(String message) {
        super(WsaError.WSAECONNRESET, message);
    }
}
