package dev.wsdx.internal;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;

/**
 * Buffer-level calls into the library with {@link java.nio.channels.SocketChannel} position semantics.
 * Direct buffers are passed without a copy; heap (and read-only heap) buffers go through a per-thread
 * direct buffer of at most {@link #CACHED_MAX} bytes. A larger transfer (a message: it must go in one
 * call) uses native memory allocated for that call and freed when the call has returned: only the
 * bytes the call moves are touched and copied, so a heap buffer costs about what a direct one does per
 * byte, and no direct memory waits for the GC. Results are the native ones: {@code >= 0} ok, else
 * {@code -WSA code}.
 * Internal: not part of the API.
 */
public final class NativeIo {
    /** Per-thread staging buffers grow up to this; larger transfers use a one-off buffer. */
    static final int CACHED_MAX = 256 * 1024;
    /** A heap stream write or read moves at most this much per native call. */
    static final int STREAM_CHUNK = CACHED_MAX;
    private static final int WSAEMSGSIZE = 10040;

    private static final ThreadLocal<Staging> STAGING = ThreadLocal.withInitial(() -> new Staging(8192));

    private NativeIo() {}

    /**
     * Sends {@code src.remaining()} bytes (one message when {@code message}) and advances
     * {@code src.position()} by the count accepted. A heap buffer in stream mode may be sent in several
     * native calls; the count of all accepted bytes is returned, or the error if none was.
     */
    public static int send(long h, ByteBuffer src, boolean message) {
        return send(h, src, message, WsdxNative::wsdx_send);
    }

    /** {@link #send} that never waits ({@code wsdx_try_send}): {@code -WSAEWOULDBLOCK} when nothing was taken. */
    public static int trySend(long h, ByteBuffer src, boolean message) {
        return send(h, src, message, WsdxNative::wsdx_try_send);
    }

    /** {@code wsdx_send}, {@code wsdx_try_send} or a disconnect send. */
    private interface SendFn {
        int send(long h, Pointer buf, int len);
    }

    private static int send(long h, ByteBuffer src, boolean message, SendFn fn) {
        int pos = src.position();
        int len = src.limit() - pos;
        if (src.isDirect()) {
            int n = fn.send(h, address(src, pos), len);
            Reference.reachabilityFence(src);
            if (n > 0) src.position(pos + n);
            return n;
        }
        if (message) {
            if (len > WsdxNative.MAX_MESSAGE) return -WSAEMSGSIZE; // never stage a buffer the library must refuse
            Staging st = staging(len);
            st.fill(src, pos, len);
            int n = fn.send(h, st.ptr, len);
            st.done();
            if (n > 0) src.position(pos + n);
            return n;
        }
        int total = 0;
        do {
            int chunk = Math.min(len - total, STREAM_CHUNK);
            Staging st = staging(chunk);
            st.fill(src, pos + total, chunk);
            int n = fn.send(h, st.ptr, chunk);
            st.done();
            if (n < 0) {
                if (total > 0) break; // report the progress; the error shows on the next call
                return n;
            }
            total += n;
            src.position(pos + total);
            if (n < chunk) break;
        } while (total < len);
        return total;
    }

    /**
     * {@link #recv}'s result for a message that did not fit: its first {@code dst.remaining()} bytes
     * were stored (position advanced) and the rest dropped; the connection goes on. Distinct from
     * {@code -WSAEMSGSIZE}, which is only the fatal frame over the limit (protocol.md section 2.2).
     */
    public static final int MESSAGE_CUT = Integer.MIN_VALUE + 1;

    /**
     * Receives into {@code dst} (which must have room) and advances its position by the count stored.
     * Returns the count, {@link #MESSAGE_CUT}, or {@code -WSA code}.
     */
    public static int recv(long h, ByteBuffer dst, int timeoutMs, boolean message) {
        int pos = dst.position();
        int len = dst.limit() - pos;
        int[] flags = new int[1];
        if (dst.isDirect()) {
            int n = WsdxNative.wsdx_recv_ex(h, address(dst, pos), len, timeoutMs, flags);
            Reference.reachabilityFence(dst);
            if (n > 0) dst.position(pos + n);
            return cut(n, flags);
        }
        // a stream read may return less than asked; a message needs room for the whole message
        int want = message ? Math.min(len, WsdxNative.MAX_MESSAGE) : Math.min(len, STREAM_CHUNK);
        Staging st = staging(want);
        int n = WsdxNative.wsdx_recv_ex(h, st.ptr, want, timeoutMs, flags);
        if (n > 0) st.drain(dst, n);
        st.done();
        return cut(n, flags);
    }

    private static int cut(int n, int[] flags) {
        return n >= 0 && (flags[0] & WsdxNative.MSG_PARTIAL) != 0 ? MESSAGE_CUT : n;
    }

    /** Sends {@code data}'s remaining bytes as disconnect data ({@code null} or empty: none). Position unchanged. */
    public static int sendDisconnect(long h, ByteBuffer data) {
        return sendDisconnect(h, data, WsdxNative::wsdx_send_disconnect);
    }

    /**
     * {@link #sendDisconnect} that never waits ({@code wsdx_try_send_disconnect}): {@code -WSAEWOULDBLOCK},
     * with nothing sent, when the frame cannot start out now.
     */
    public static int trySendDisconnect(long h, ByteBuffer data) {
        return sendDisconnect(h, data, WsdxNative::wsdx_try_send_disconnect);
    }

    private static int sendDisconnect(long h, ByteBuffer data, SendFn fn) {
        if (data == null || !data.hasRemaining()) return fn.send(h, null, 0);
        int pos = data.position();
        int len = data.remaining();
        if (data.isDirect()) {
            int n = fn.send(h, address(data, pos), len);
            Reference.reachabilityFence(data);
            return n;
        }
        Staging st = staging(len);
        st.fill(data, pos, len);
        int n = fn.send(h, st.ptr, len);
        st.done();
        return n;
    }

    /** Copies the peer's disconnect data into {@code dst}, advancing its position; returns the length. */
    public static int recvDisconnect(long h, ByteBuffer dst) {
        int pos = dst.position();
        int cap = dst.limit() - pos;
        if (dst.isDirect()) {
            int n = WsdxNative.wsdx_recv_disconnect(h, cap == 0 ? null : address(dst, pos), cap);
            Reference.reachabilityFence(dst);
            if (n > 0) dst.position(pos + n);
            return n;
        }
        Staging st = staging(cap);
        int n = WsdxNative.wsdx_recv_disconnect(h, cap == 0 ? null : st.ptr, cap);
        if (n > 0) st.drain(dst, n);
        st.done();
        return n;
    }

    private static Pointer address(ByteBuffer direct, int offset) {
        return Native.getDirectBufferPointer(direct).share(offset);
    }

    /** The calling thread's staging buffer if it is (or may grow) large enough, else a one-off one. */
    private static Staging staging(int size) {
        if (size > CACHED_MAX) return new Staging(new Memory(size));
        Staging st = STAGING.get();
        if (st.buf.capacity() < size) {
            st = new Staging(Math.min(CACHED_MAX, Math.max(size, st.buf.capacity() * 2)));
            STAGING.set(st); // the old one is left to the GC, never freed under a native call
        }
        return st;
    }

    /**
     * A direct buffer and its address: a cached direct {@link ByteBuffer}, or one-off native memory
     * ({@code malloc}: pages are only committed where the call writes) that {@link #done()} frees.
     */
    private static final class Staging {
        final ByteBuffer buf;
        final Pointer ptr;
        private final Memory oneOff;

        Staging(int capacity) {
            buf = ByteBuffer.allocateDirect(Math.max(capacity, 1));
            ptr = Native.getDirectBufferPointer(buf);
            oneOff = null;
        }

        Staging(Memory m) {
            oneOff = m;
            ptr = m;
            buf = m.getByteBuffer(0, m.size());
        }

        /** After the native call returned: a one-off block is freed now (no other call can hold it). */
        void done() {
            if (oneOff != null) oneOff.close();
            Reference.reachabilityFence(this);
        }

        /** Copies {@code len} bytes of {@code src} from {@code pos} without moving {@code src}. */
        void fill(ByteBuffer src, int pos, int len) {
            ByteBuffer s = src.duplicate();
            s.limit(pos + len).position(pos);
            buf.clear();
            buf.put(s);
        }

        /** Copies the first {@code n} staged bytes into {@code dst}, advancing it. */
        void drain(ByteBuffer dst, int n) {
            buf.clear().limit(n);
            dst.put(buf);
        }
    }
}
