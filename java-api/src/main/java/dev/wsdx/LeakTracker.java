package dev.wsdx;

import dev.wsdx.internal.CloseDispatcher;
import dev.wsdx.internal.Readiness;
import dev.wsdx.internal.WsdxNative;
import java.lang.ref.Cleaner;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releases the native handle of a {@link Connection} or {@link Server} that was dropped without
 * {@code close()}, and reports it, with where it was opened when that was recorded (Netty's
 * {@code ResourceLeakDetector} is the model). The system property {@value #PROPERTY} sets how often
 * the opening site is recorded: {@code disabled} (never), {@code simple} (the default: one in
 * {@value #SAMPLE}), {@code paranoid} (always). A dropped handle is released and reported at every level.
 */
final class LeakTracker {
    /** System property: {@code disabled}, {@code simple} or {@code paranoid}. */
    static final String PROPERTY = "wsdx.leakDetection";
    static final int SAMPLE = 128;

    private static final Logger log = LoggerFactory.getLogger(LeakTracker.class);
    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "wsdx-cleaner");
        t.setDaemon(true);
        return t;
    });
    /** 0 disabled, 1 simple, 2 paranoid; settable by tests. */
    static volatile int level = level(System.getProperty(PROPERTY, "simple"));
    private static final AtomicLong LEAKS = new AtomicLong();
    /** Test hook: sees each report. */
    static volatile Consumer<String> reports;

    private LeakTracker() {}

    /**
     * Tracks {@code owner}; the returned handle must be {@linkplain Handle#release released} by its
     * close. Holds nothing that reaches {@code owner}.
     */
    static Handle track(Object owner, long handle, String what) {
        Handle h = new Handle(handle, what, record() ? new Throwable("opened here") : null);
        h.cleanable = CLEANER.register(owner, h);
        return h;
    }

    /** Leaks reported so far. */
    static long leaks() {
        return LEAKS.get();
    }

    private static boolean record() {
        int l = level;
        return l == 2 || (l == 1 && ThreadLocalRandom.current().nextInt(SAMPLE) == 0);
    }

    private static int level(String v) {
        switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "disabled": return 0;
            case "paranoid": return 2;
            default: return 1;
        }
    }

    /** Releases a native handle for good: linger policy first, a graceful close if that would block. */
    static void closeNative(long handle) {
        int rc = WsdxNative.wsdx_close(handle);
        if (rc == -WsaError.WSAEWOULDBLOCK) { // S10 on a non-blocking socket: close in the background instead
            WsdxNative.wsdx_set_linger(handle, 0, 0);
            WsdxNative.wsdx_close(handle);
        }
    }

    /** The cleaner's state for one handle; released exactly once, by close or by the cleaner. */
    static final class Handle implements Runnable {
        private final long handle;
        private final String what;
        private final Throwable site;
        private final AtomicBoolean released = new AtomicBoolean();
        private Cleaner.Cleanable cleanable;

        private Handle(long handle, String what, Throwable site) {
            this.handle = handle;
            this.what = what;
            this.site = site;
        }

        /** Close calls this once the handle is closed: nothing left to clean. */
        void release() {
            if (released.compareAndSet(false, true)) cleanable.clean();
        }

        @Override
        public void run() {
            if (!released.compareAndSet(false, true)) return;
            LEAKS.incrementAndGet();
            String msg = "LEAK: " + what + " " + handle + " was garbage-collected without close(); its handle is"
                    + " released now." + (site != null ? " It was opened at:"
                    : " Run with -D" + PROPERTY + "=paranoid to see where it was opened.");
            try {
                CloseDispatcher.unregister(handle);
                closeNative(handle);
                Readiness.closed(handle); // its waiter entry (no task left: a task would have kept it reachable)
                if (site != null) log.error(msg, site);
                else log.error(msg);
                Consumer<String> r = reports;
                if (r != null) {
                    java.io.StringWriter w = new java.io.StringWriter();
                    if (site != null) site.printStackTrace(new java.io.PrintWriter(w));
                    r.accept(msg + "\n" + w);
                }
            } catch (Throwable t) {
                log.error("releasing leaked {} {} failed", what, handle, t);
            }
        }
    }
}
