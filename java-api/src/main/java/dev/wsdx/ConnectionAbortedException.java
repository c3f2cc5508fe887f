package dev.wsdx;

/** {@code WSAECONNABORTED}: the connection was lost or aborted locally (R4). */
public class ConnectionAbortedException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public ConnectionAbortedException(String message) {
        super(WsaError.WSAECONNABORTED, message);
    }
}
