package dev.wsdx;

import java.net.ProtocolException;

/**
 * The peer broke the wsdx protocol, and the connection was reset: it is not a wsdx peer of the same
 * version and mode ({@code WSAEPROTONOSUPPORT}, {@code WSAVERNOTSUPPORTED}, {@code WSAEPROTOTYPE}), or
 * it sent a frame over the limit ({@code WSAEMSGSIZE}, unlike the harmless
 * {@link MessageTooLargeException}). Every later read fails with the same code, and the close event
 * carries it (docs/protocol.md, section 3). A {@link ProtocolException}, as {@code java.net} reports a
 * protocol error.
 */
public class WsdxProtocolException extends ProtocolException implements WsaCoded {
    private static final long serialVersionUID = 1L;

    /** The WSA code. */
    private final int wsaError;

    /**
     * @param wsaError one of the protocol error codes
     * @param message the detail message
     */
    public WsdxProtocolException(int wsaError, String message) {
        super(message);
        this.wsaError = wsaError;
    }

    @Override
    public int wsaError() {
        return wsaError;
    }
}
