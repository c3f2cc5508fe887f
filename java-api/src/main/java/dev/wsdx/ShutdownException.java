package dev.wsdx;

/** {@code WSAESHUTDOWN}: the direction was shut down (S1, S2, S3). */
public class ShutdownException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public ShutdownException(String message) {
        super(WsaError.WSAESHUTDOWN, message);
    }
}
