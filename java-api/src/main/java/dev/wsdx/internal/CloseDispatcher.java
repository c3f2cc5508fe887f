package dev.wsdx.internal;

import com.sun.jna.CallbackThreadInitializer;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes the native FD_CLOSE callbacks to their connections. One callback instance serves every
 * socket; it runs on the library's notifier thread, which stays attached to the JVM as a daemon.
 * The callback never blocks and never throws: it looks the handle up and hands the event on.
 * Internal: not part of the API.
 */
public final class CloseDispatcher {
    /** Receives the close event of one socket. Must not block. */
    @FunctionalInterface
    public interface Sink {
        /**
         * @param error the FD_CLOSE error code, 0 for graceful
         * @param flags {@code WSDX_CLOSE_*} flags
         */
        void closed(int error, int flags);
    }

    private static final Logger log = LoggerFactory.getLogger(CloseDispatcher.class);
    private static final Map<Long, Sink> SINKS = new ConcurrentHashMap<>();

    /** The single callback, strongly reachable for the life of the class (JNA would otherwise free its stub). */
    private static final WsdxNative.CloseFn CALLBACK = new Trampoline();

    static {
        Native.setCallbackThreadInitializer(CALLBACK, new CallbackThreadInitializer(true, false, "wsdx-notifier"));
    }

    private CloseDispatcher() {}

    /**
     * Registers {@code sink} for socket {@code handle} and the callback with the library (which
     * delivers a close that already happened, too).
     *
     * @return the native result: {@code >= 0} ok, else {@code -WSA code} (the sink is then dropped)
     */
    public static int register(long handle, Sink sink) {
        SINKS.put(handle, sink);
        int rc = WsdxNative.wsdx_on_close(handle, CALLBACK, null);
        if (rc < 0) SINKS.remove(handle, sink);
        return rc;
    }

    /** Forgets the sink of {@code handle}; events that still race in are dropped. */
    public static void unregister(long handle) {
        SINKS.remove(handle);
    }

    /** Number of registered sinks (for tests and leak checks). */
    public static int registered() {
        return SINKS.size();
    }

    /** Whether {@code handle} has a sink (for leak checks that look at their own handles only). */
    public static boolean registered(long handle) {
        return SINKS.containsKey(handle);
    }

    private static final class Trampoline implements WsdxNative.CloseFn {
        @Override
        public void invoke(long s, int error, int flags, Pointer ctx) {
            try {
                Readiness.markNotifierThread();
                Sink sink = SINKS.remove(s); // FD_CLOSE comes once per connection (R5)
                if (sink == null) {
                    log.debug("close event for unknown or closed socket {} (error {})", s, error);
                    return;
                }
                sink.closed(error, flags);
            } catch (Throwable t) {
                try {
                    log.error("close event of socket {} could not be dispatched", s, t);
                } catch (Throwable ignored) {
                    // never into native code
                }
            }
        }
    }
}
