package dev.wsdx;

import dev.wsdx.internal.NativeIo;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * What one {@link Connection} knows about its peer's close: the close a read or write saw, and the
 * peer's disconnect data once taken. The data is taken ({@code WSPRecvDisconnect}, which ends
 * reception) only when that cannot drop unread data: after the application saw the end of input, or
 * just before the handle is closed. Thread-safe.
 */
final class PeerClose {
    /** {@link #seen}: no peer close seen by a read or write yet. */
    private static final int NOT_SEEN = -1;

    private final long handle;
    private final CloseNotifier notifier;
    /** The peer close a read or write saw first (0 graceful, else its WSA code), or {@link #NOT_SEEN}. */
    private volatile int seen = NOT_SEEN;
    /** We took the disconnect data after the end of input (which stops reception): reads repeat the end. */
    private volatile boolean inputTakenByUs;
    /** A read returned the graceful end of input: the peer's disconnect data, if any, is all here. */
    private volatile boolean endRead;
    /** The application stopped reception itself ({@code shutdown(SD_RECEIVE)}, {@code receiveDisconnect}). */
    private volatile boolean inputShutByUser;
    /** The peer's disconnect data, taken before the handle was closed; null if none was. */
    private volatile ByteBuffer kept;

    PeerClose(long handle, CloseNotifier notifier) {
        this.handle = handle;
        this.notifier = notifier;
    }

    /** A read or write saw the peer's close: a later local close must not hide it. */
    void saw(int error) {
        if (seen == NOT_SEEN) seen = error;
    }

    /** A read returned the graceful end of input (R1, R2). */
    void endOfInputRead() {
        saw(0);
        endRead = true;
    }

    /** Whether a read returned the graceful end of input. */
    boolean isEndOfInputRead() {
        return endRead;
    }

    /** The application ended reception itself. */
    void inputShutByUser() {
        inputShutByUser = true;
    }

    /**
     * A read failed {@code WSAESHUTDOWN} only because we took the disconnect data: the code the end
     * of input reads as (0 graceful), else -1 (a real shutdown).
     */
    int endOfInputAfterTaking() {
        return inputTakenByUs && !inputShutByUser ? seen : -1;
    }

    /**
     * The peer event, with the disconnect data if taking it cannot drop unread data: once the
     * application has seen the end of input, or when the handle is being closed.
     */
    CloseEvent event(int error, boolean data, boolean closing) {
        if (data && (seen != NOT_SEEN || closing)) {
            ByteBuffer d = takeData();
            if (d != null) return CloseEvent.peer(error, d);
        }
        return CloseEvent.of(CloseEvent.Origin.PEER, error, data);
    }

    /**
     * Before the handle goes: the peer close seen so far, as an event with its disconnect data (null
     * if none was seen). Also keeps the data for {@code receiveDisconnect()} when the close callback
     * already delivered an event that could not take it.
     */
    CloseEvent beforeClose() {
        CloseEvent claimed = notifier.event();
        if (notifier.isClaimed()) {
            if (claimed == null || (claimed.hasDisconnectData() && !claimed.hasData())) takeData();
            return null;
        }
        int s = seen;
        if (s == NOT_SEEN) return null;
        ByteBuffer d = s == 0 ? takeData() : null;
        return d != null && d.hasRemaining() ? CloseEvent.peer(s, d) : CloseEvent.of(CloseEvent.Origin.PEER, s, false);
    }

    /** After close: copies the data taken for the close event into {@code dst}; S11 if there was no peer close. */
    int keptInto(ByteBuffer dst) throws IOException {
        ByteBuffer k = kept;
        if (k == null) {
            CloseEvent ev = notifier.event();
            if (ev == null || ev.origin() != CloseEvent.Origin.PEER) {
                throw WsdxException.of(-WsaError.WSAENOTSOCK, "receiveDisconnect");
            }
            k = ev.disconnectData();
        }
        if (k.remaining() > dst.remaining()) throw WsdxException.of(-WsaError.WSAEFAULT, "receiveDisconnect");
        int n = k.remaining();
        dst.put(k.duplicate());
        return n;
    }

    /** WSPRecvDisconnect on our own behalf (reception is over or ending); null if it failed. */
    private synchronized ByteBuffer takeData() { // the notifier and a closing thread may both ask
        ByteBuffer k = kept;
        if (k != null) return k.duplicate();
        ByteBuffer b = ByteBuffer.allocate(Connection.MAX_DISCONNECT_DATA);
        int rc = NativeIo.recvDisconnect(handle, b);
        if (rc < 0) return null;
        if (!inputShutByUser) inputTakenByUs = true;
        kept = b.flip().asReadOnlyBuffer();
        return kept.duplicate();
    }
}
