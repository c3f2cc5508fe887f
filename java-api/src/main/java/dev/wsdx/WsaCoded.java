package dev.wsdx;

/**
 * An exception that carries the WSA error code it stands for. Every exception wsdx throws for a
 * failed call implements it: {@link WsdxException} and its subclasses, and those that subclass
 * {@code java.net}'s own types instead, {@link WsdxTimeoutException} ({@code SocketTimeoutException}),
 * {@link ConnectionRefusedException} ({@code ConnectException}) and {@link WsdxProtocolException}
 * ({@code ProtocolException}).
 */
public interface WsaCoded {
    /**
     * The WSA error code.
     *
     * @return the code, e.g. {@link WsaError#WSAESHUTDOWN}
     */
    int wsaError();

    /**
     * The name of {@link #wsaError()}.
     *
     * @return the name, e.g. {@code "WSAESHUTDOWN"}
     */
    default String wsaName() {
        return WsaError.name(wsaError());
    }
}
