package dev.wsdx;

/**
 * The socket was closed: {@code WSAENOTSOCK} for a call made after close (S11), or
 * {@code WSAEINTR} for a call (connect, send, receive, accept) that was blocked when another thread
 * closed the socket, as Winsock's {@code closesocket} makes a pending blocking call fail.
 */
public class SocketClosedException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public SocketClosedException(String message) {
        super(WsaError.WSAENOTSOCK, message);
    }

    SocketClosedException(int wsaError, String message) {
        super(wsaError, message);
    }
}
