package dev.wsdx;

/** {@code WSAEWOULDBLOCK}: a non-blocking call could not proceed now, e.g. a lingering close with data queued (S10). */
public class WouldBlockException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public WouldBlockException(String message) {
        super(WsaError.WSAEWOULDBLOCK, message);
    }
}
