package dev.wsdx;

/**
 * The peer is not a wsdx peer of the same protocol version and mode: {@code WSAEPROTONOSUPPORT},
 * {@code WSAVERNOTSUPPORTED} or {@code WSAEPROTOTYPE}.
 */
public class WsdxProtocolException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /**
     * @param wsaError one of the protocol error codes
     * @param message the detail message
     */
    public WsdxProtocolException(int wsaError, String message) {
        super(wsaError, message);
    }
}
