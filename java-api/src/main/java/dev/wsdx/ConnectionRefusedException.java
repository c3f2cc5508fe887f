package dev.wsdx;

/** {@code WSAECONNREFUSED}: nothing listens at the remote address. */
public class ConnectionRefusedException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public ConnectionRefusedException(String message) {
        super(WsaError.WSAECONNREFUSED, message);
    }
}
