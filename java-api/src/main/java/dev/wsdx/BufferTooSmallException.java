package dev.wsdx;

/** {@code WSAEFAULT}: the buffer is too small for the disconnect data; nothing was consumed. */
public class BufferTooSmallException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public BufferTooSmallException(String message) {
        super(WsaError.WSAEFAULT, message);
    }
}
