package dev.wsdx;

/**
 * {@code WSAEMSGSIZE}. On {@link Connection#read(java.nio.ByteBuffer)} in {@link Mode#MESSAGE} mode the
 * message was larger than the buffer: its first bytes were stored in the buffer (whose position was
 * advanced past them) and the rest was dropped. On a write, the message exceeds the largest one allowed.
 * As a close event code, the peer sent an oversized frame.
 */
public class MessageTooLargeException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public MessageTooLargeException(String message) {
        super(WsaError.WSAEMSGSIZE, message);
    }
}
