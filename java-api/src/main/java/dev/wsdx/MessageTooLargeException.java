package dev.wsdx;

/**
 * {@code WSAEMSGSIZE}, harmless: the connection goes on. On {@link Connection#read(java.nio.ByteBuffer)}
 * in {@link Mode#MESSAGE} mode the message was larger than the buffer: its first bytes were stored in
 * the buffer (whose position was advanced past them) and the rest was dropped. On a write, the message
 * exceeds the largest one allowed and nothing was sent. The fatal {@code WSAEMSGSIZE}, a peer's frame
 * over the limit, is a {@link WsdxProtocolException} instead.
 */
public class MessageTooLargeException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public MessageTooLargeException(String message) {
        super(WsaError.WSAEMSGSIZE, message);
    }
}
