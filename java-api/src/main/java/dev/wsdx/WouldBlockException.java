package dev.wsdx;

/**
 * {@code WSAEWOULDBLOCK}: nothing is available now. This is wsdx's one "nothing available" signal:
 * a read, write or accept that polls ({@link java.time.Duration#ZERO} timeout, or a non-blocking
 * connection) and finds nothing to do throws it, and so does a lingering close that cannot finish
 * at once ({@link Connection#closeSocket()}, S10). A read or write that moved some bytes returns
 * their count; 0 means an empty message ({@link Mode#MESSAGE}) or a buffer without room. It carries
 * no stack trace: it is expected and cheap.
 */
public class WouldBlockException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /**
     * Nothing available now.
     *
     * @param message the detail message
     */
    public WouldBlockException(String message) {
        super(WsaError.WSAEWOULDBLOCK, message);
    }

    /** No stack trace: a poll that finds nothing is not an error. */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
