package dev.wsdx;

/**
 * {@code WSAENOTSOCK}: the connection or server was closed (S11), before the call or while it was
 * blocked in it (a {@code close()} from another thread ends a blocked connect, read, write or accept
 * with this exception; the library reports {@code WSAEINTR} then, as Winsock's {@code closesocket}
 * makes a pending blocking call fail). It plays the part of
 * {@code java.nio.channels.ClosedChannelException} and of {@code java.net.SocketException("Socket is
 * closed")}; it stays a {@link WsdxException} so that every wsdx failure carries its WSA code the same way.
 */
public class SocketClosedException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /**
     * A call on a closed socket.
     *
     * @param message the detail message
     */
    public SocketClosedException(String message) {
        super(WsaError.WSAENOTSOCK, message);
    }

    SocketClosedException(int wsaError, String message) {
        super(wsaError, message);
    }
}
