package dev.wsdx;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A close event (FD_CLOSE) of a {@link Connection}: where it came from, why, and the peer's disconnect
 * data. Immutable, and safe to share between threads.
 */
public final class CloseEvent {
    /** Where the close came from. */
    public enum Origin {
        /** The peer closed, reset or the connection was lost (R1–R4). */
        PEER,
        /** The connection was closed locally before any peer close was seen. */
        LOCAL
    }

    /** Why the connection closed. */
    public enum Cause {
        /** The peer closed gracefully, with or without disconnect data (R1, R2, S5, S6). */
        GRACEFUL,
        /** The peer reset the connection ({@code WSAECONNRESET}, R3, S8). */
        RESET,
        /** The connection was lost or aborted: {@code WSAECONNABORTED} or the lower layer's code (R4). */
        ABORTED,
        /** The peer broke the wsdx protocol (a protocol error code, or an oversized frame). */
        PROTOCOL_ERROR,
        /** Closed locally before any peer close was seen. */
        LOCAL
    }

    private static final ByteBuffer NO_DATA = ByteBuffer.allocate(0).asReadOnlyBuffer();
    private static final CloseEvent LOCAL_EVENT = new CloseEvent(Origin.LOCAL, 0, false, null);

    private final Origin origin;
    private final int errorCode;
    private final boolean disconnectData;
    private final ByteBuffer data; // read-only, position 0; null when not taken

    private CloseEvent(Origin origin, int errorCode, boolean disconnectData, ByteBuffer data) {
        this.origin = origin;
        this.errorCode = errorCode;
        this.disconnectData = disconnectData;
        this.data = data;
    }

    /**
     * A close event without the data itself; mainly for tests of listeners.
     *
     * @param origin PEER or LOCAL
     * @param errorCode the WSA error code, 0 for a graceful close
     * @param hasDisconnectData whether the peer's disconnect data is non-empty
     * @return the event
     */
    public static CloseEvent of(Origin origin, int errorCode, boolean hasDisconnectData) {
        Objects.requireNonNull(origin, "origin");
        if (origin == Origin.LOCAL && errorCode == 0 && !hasDisconnectData) return LOCAL_EVENT;
        return new CloseEvent(origin, errorCode, hasDisconnectData, null);
    }

    /**
     * A peer close event with the peer's disconnect data.
     *
     * @param errorCode the WSA error code, 0 for a graceful close
     * @param data the disconnect data's remaining bytes (copied; the buffer is not moved)
     * @return the event
     * @throws IllegalArgumentException if {@code data} holds more than {@link Connection#MAX_DISCONNECT_DATA} bytes
     */
    public static CloseEvent peer(int errorCode, ByteBuffer data) {
        Objects.requireNonNull(data, "data");
        if (data.remaining() > Connection.MAX_DISCONNECT_DATA)
            throw new IllegalArgumentException("disconnect data over " + Connection.MAX_DISCONNECT_DATA + " bytes");
        ByteBuffer copy = ByteBuffer.allocate(data.remaining()).put(data.duplicate()).flip();
        return new CloseEvent(Origin.PEER, errorCode, true, copy.asReadOnlyBuffer());
    }

    /** The event of a local close: {@code LOCAL}, code 0. */
    static CloseEvent local() {
        return LOCAL_EVENT;
    }

    /**
     * The cause of an error code: 0 graceful, {@code WSAECONNRESET} reset, a protocol code protocol
     * error, anything else aborted.
     */
    static Cause causeOf(int errorCode) {
        switch (errorCode) {
            case 0: return Cause.GRACEFUL;
            case WsaError.WSAECONNRESET: return Cause.RESET;
            case WsaError.WSAEPROTONOSUPPORT:
            case WsaError.WSAVERNOTSUPPORTED:
            case WsaError.WSAEPROTOTYPE:
            case WsaError.WSAEMSGSIZE:
                return Cause.PROTOCOL_ERROR;
            default: return Cause.ABORTED;
        }
    }

    /**
     * PEER for a close the peer (or the network) caused, LOCAL when the connection was closed here first.
     *
     * @return the origin
     */
    public Origin origin() {
        return origin;
    }

    /**
     * Why it closed; {@link Cause#LOCAL} exactly when {@link #origin()} is LOCAL.
     *
     * @return the cause
     */
    public Cause cause() {
        return origin == Origin.LOCAL ? Cause.LOCAL : causeOf(errorCode);
    }

    /**
     * The FD_CLOSE error: 0 graceful (R1, R2), {@code WSAECONNRESET} (R3), {@code WSAECONNABORTED} or
     * the lower layer's code (R4), or a protocol error code. See {@link WsaError}.
     *
     * @return the WSA code, 0 for a graceful or local close
     */
    public int errorCode() {
        return errorCode;
    }

    /**
     * Whether the close was graceful.
     *
     * @return {@code errorCode() == 0}
     */
    public boolean isGraceful() {
        return errorCode == 0;
    }

    /**
     * Whether the peer reset the connection.
     *
     * @return {@code errorCode() == WSAECONNRESET} (R3)
     */
    public boolean isReset() {
        return errorCode == WsaError.WSAECONNRESET;
    }

    /**
     * Whether the peer's disconnect data is non-empty; {@link Connection#receiveDisconnect()} returns
     * it (S5). An empty disconnect frame and a FIN alone both mean "no disconnect data" (protocol
     * section 2, DISCONNECT), so this is {@code false} for both.
     *
     * @return true if the peer's disconnect data is non-empty
     */
    public boolean hasDisconnectData() {
        return disconnectData;
    }

    /**
     * The peer's disconnect data (at most {@link Connection#MAX_DISCONNECT_DATA} bytes), as a new
     * read-only buffer positioned at 0; empty if the peer sent none. The connection takes the data
     * as soon as taking it cannot drop unread data: when the close is seen after the application
     * read to the end of input, or when it closes the connection. An event that came while data
     * was still unread says {@link #hasDisconnectData()} but holds no bytes; then
     * {@link Connection#receiveDisconnect()} returns them (before or after close).
     *
     * @return the data, empty if none or not taken
     */
    public ByteBuffer disconnectData() {
        return data != null ? data.duplicate() : NO_DATA.duplicate();
    }

    /** Whether the data itself was taken into this event. */
    boolean hasData() {
        return data != null;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof CloseEvent)) return false;
        CloseEvent e = (CloseEvent) o;
        return origin == e.origin && errorCode == e.errorCode && disconnectData == e.disconnectData
                && Objects.equals(data, e.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(origin, errorCode, disconnectData, data);
    }

    /**
     * E.g. {@code CloseEvent[PEER, WSAECONNRESET(10054)]} or
     * {@code CloseEvent[PEER, graceful, disconnect data (12 bytes)]}.
     */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("CloseEvent[").append(origin).append(", ");
        if (errorCode == 0) b.append("graceful");
        else b.append(WsaError.name(errorCode)).append('(').append(errorCode).append(')');
        if (disconnectData) {
            b.append(", disconnect data");
            if (data != null) b.append(" (").append(data.remaining()).append(" bytes)");
        }
        return b.append(']').toString();
    }
}
