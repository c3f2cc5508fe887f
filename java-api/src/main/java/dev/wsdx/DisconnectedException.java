package dev.wsdx;

/** {@code WSAEDISCON}: the peer closed gracefully, on a {@link Mode#MESSAGE} socket (R2). */
public class DisconnectedException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public DisconnectedException(String message) {
        super(WsaError.WSAEDISCON, message);
    }
}
