package dev.wsdx;

import java.io.IOException;

/**
 * A wsdx call failed with a WSA error code. {@link #of(int, String)} is the one place that turns a
 * code into an exception: it picks the subclass for the code, codes without one give a plain
 * {@code WsdxException}. Some codes map to {@code java.net} types instead ({@link WsdxTimeoutException},
 * {@link ConnectionRefusedException}, {@link WsdxProtocolException}); every exception it returns
 * implements {@link WsaCoded}.
 */
public class WsdxException extends IOException implements WsaCoded {
    private static final long serialVersionUID = 1L;

    /** The WSA code. */
    private final int wsaError;

    /**
     * A failure with a WSA code.
     *
     * @param wsaError the WSA code (positive, as in {@link WsaError})
     * @param message the detail message
     */
    public WsdxException(int wsaError, String message) {
        super(message);
        this.wsaError = wsaError;
    }

    @Override
    public int wsaError() {
        return wsaError;
    }

    /**
     * Creates every exception {@link #of} can return, once, while descriptors remain: the first
     * {@code WSAEMFILE} must not turn into a {@link NoClassDefFoundError} because loading a class from a
     * class directory needs a descriptor too.
     */
    static void preload() {
        for (int c : WsaError.codes()) of(c, "preload");
    }

    /**
     * The exception for a failed operation, with a message like
     * {@code "send failed: WSAESHUTDOWN (10058)"}.
     *
     * @param code the WSA code; a negative native return value is accepted as well
     * @param operation what failed, e.g. {@code "send"}
     * @return the exception, a {@link WsaCoded}
     */
    public static IOException of(int code, String operation) {
        int c = code < 0 && code != Integer.MIN_VALUE ? -code : code;
        String m = operation + " failed: " + WsaError.name(c) + " (" + c + ")";
        switch (c) {
            case WsaError.WSAESHUTDOWN: return new ShutdownException(m);
            case WsaError.WSAECONNRESET: return new ConnectionResetException(m);
            case WsaError.WSAECONNABORTED: return new ConnectionAbortedException(m);
            case WsaError.WSAEDISCON: return new DisconnectedException(m);
            case WsaError.WSAENOTCONN: return new NotConnectedException(m);
            case WsaError.WSAENOTSOCK: return new SocketClosedException(m);
            case WsaError.WSAEINTR: return new SocketClosedException(c, m);
            case WsaError.WSAEMFILE: return new TooManyOpenFilesException(m);
            case WsaError.WSAEWOULDBLOCK: return new WouldBlockException(m);
            case WsaError.WSAETIMEDOUT: return new WsdxTimeoutException(m);
            case WsaError.WSAECONNREFUSED: return new ConnectionRefusedException(m);
            case WsaError.WSAEFAULT: return new BufferTooSmallException(m);
            case WsaError.WSAEMSGSIZE: return new MessageTooLargeException(m);
            case WsaError.WSAEPROTONOSUPPORT:
            case WsaError.WSAVERNOTSUPPORTED:
            case WsaError.WSAEPROTOTYPE:
                return new WsdxProtocolException(c, m);
            default: return new WsdxException(c, m);
        }
    }
}
