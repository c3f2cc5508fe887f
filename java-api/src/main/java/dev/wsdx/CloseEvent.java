package dev.wsdx;

import java.util.Objects;

/** A close event (FD_CLOSE) of a {@link Connection}. Immutable. */
public final class CloseEvent {
    /** Where the close came from. */
    public enum Origin {
        /** The peer closed, reset or the connection was lost (R1–R4). */
        PEER,
        /** The connection was closed locally before any peer event arrived. */
        LOCAL
    }

    private static final CloseEvent LOCAL_EVENT = new CloseEvent(Origin.LOCAL, 0, false);

    private final Origin origin;
    private final int errorCode;
    private final boolean disconnectData;

    private CloseEvent(Origin origin, int errorCode, boolean disconnectData) {
        this.origin = origin;
        this.errorCode = errorCode;
        this.disconnectData = disconnectData;
    }

    /**
     * A close event; mainly for tests of listeners.
     *
     * @param origin PEER or LOCAL
     * @param errorCode the WSA error code, 0 for a graceful close
     * @param hasDisconnectData whether the peer's disconnect data is non-empty
     */
    public static CloseEvent of(Origin origin, int errorCode, boolean hasDisconnectData) {
        Objects.requireNonNull(origin, "origin");
        if (origin == Origin.LOCAL && errorCode == 0 && !hasDisconnectData) return LOCAL_EVENT;
        return new CloseEvent(origin, errorCode, hasDisconnectData);
    }

    /** The event of a local close: {@code LOCAL}, code 0. */
    static CloseEvent local() {
        return LOCAL_EVENT;
    }

    /** PEER for an event reported by the library, LOCAL when the connection was closed here first. */
    public Origin origin() {
        return origin;
    }

    /**
     * The FD_CLOSE error: 0 graceful (R1, R2), {@code WSAECONNRESET} (R3), {@code WSAECONNABORTED} or
     * the lower layer's code (R4), or a protocol error code. See {@link WsaError}.
     */
    public int errorCode() {
        return errorCode;
    }

    /** {@code errorCode() == 0}. */
    public boolean isGraceful() {
        return errorCode == 0;
    }

    /** {@code errorCode() == WSAECONNRESET} (R3). */
    public boolean isReset() {
        return errorCode == WsaError.WSAECONNRESET;
    }

    /**
     * Whether the peer's disconnect data is non-empty; {@link Connection#receiveDisconnect()} returns
     * it (S5). An empty disconnect frame and a FIN alone both mean "no disconnect data" (protocol
     * section 2, DISCONNECT), so this is {@code false} for both.
     */
    public boolean hasDisconnectData() {
        return disconnectData;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof CloseEvent)) return false;
        CloseEvent e = (CloseEvent) o;
        return origin == e.origin && errorCode == e.errorCode && disconnectData == e.disconnectData;
    }

    @Override
    public int hashCode() {
        return Objects.hash(origin, errorCode, disconnectData);
    }

    /** E.g. {@code CloseEvent[PEER, WSAECONNRESET(10054)]} or {@code CloseEvent[PEER, graceful, disconnect data]}. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("CloseEvent[").append(origin).append(", ");
        if (errorCode == 0) b.append("graceful");
        else b.append(WsaError.name(errorCode)).append('(').append(errorCode).append(')');
        if (disconnectData) b.append(", disconnect data");
        return b.append(']').toString();
    }
}
