package dev.wsdx.internal;

import com.sun.jna.CallbackThreadInitializer;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Readiness events ({@code wsdx_select}) routed to waiting tasks: the library's notifier thread
 * (attached to the JVM as a daemon) runs each task once when its event is due. Tasks must be short:
 * they unpark a thread or hand work to an executor. Virtual threads' blocking calls use {@link #park} instead of
 * blocking in native code, so they park and free their carrier, and {@link Thread#interrupt()}
 * wakes them (platform threads' reads and accepts wait in the library: {@link NativeWait}). Internal: not part of the API.
 */
public final class Readiness {
    /** {@link #park} result: the event is due. */
    public static final int READY = 0;
    /** {@link #park} result: the deadline passed. */
    public static final int TIMED_OUT = 1;
    /** {@link #park} result: the thread was interrupted (its status stays set). */
    public static final int INTERRUPTED = 2;
    /** {@link #awaitConnect}'s result when the handle was closed before the connect ended. */
    public static final int CLOSED = Integer.MIN_VALUE;

    private static final Logger log = LoggerFactory.getLogger(Readiness.class);
    private static final Map<Long, Waiters> WAITERS = new ConcurrentHashMap<>();
    /** Set on the notifier thread by each callback from the library (it is one thread, attached for good). */
    private static final ThreadLocal<Boolean> ON_NOTIFIER = ThreadLocal.withInitial(() -> false);
    private static final WsdxNative.EventFn CALLBACK = new Trampoline();

    static {
        Native.setCallbackThreadInitializer(CALLBACK, new CallbackThreadInitializer(true, false, "wsdx-notifier"));
    }

    private Readiness() {}

    /**
     * Runs {@code task} once on the notifier thread when {@code event} ({@code WsdxNative.FD_*}) is
     * due on {@code handle}, or when the handle is {@link #closed}.
     *
     * @return 0, or {@code -WSA code} from {@code wsdx_select} (the task will not run)
     */
    public static int await(long handle, int event, Runnable task) {
        Waiters w = WAITERS.computeIfAbsent(handle, h -> new Waiters());
        Queue<Runnable> q = w.queue(event);
        q.add(task);
        int rc = WsdxNative.wsdx_select(handle, event, CALLBACK, null);
        if (rc < 0) {
            q.remove(task);
            if (w.isEmpty()) WAITERS.remove(handle, w);
        }
        return rc;
    }

    /**
     * Runs {@code task} once on the notifier thread with a non-blocking connect's result (FD_CONNECT's
     * error: 0 connected, else the WSA code), or with {@link #CLOSED} when the handle is {@link #closed}.
     *
     * @return 0, or {@code -WSA code} from {@code wsdx_select} (the task will not run)
     */
    public static int awaitConnect(long handle, IntConsumer task) {
        Waiters w = WAITERS.computeIfAbsent(handle, h -> new Waiters());
        return await(handle, WsdxNative.FD_CONNECT, () -> task.accept(w.connectResult));
    }

    /**
     * Parks the calling thread until {@code event} is due on {@code handle}, the handle is closed,
     * {@code deadlineNanos} ({@link System#nanoTime()} clock; 0: none) passes, or an interrupt.
     *
     * @return {@link #READY}, {@link #TIMED_OUT}, {@link #INTERRUPTED} or {@code -WSA code}
     */
    public static int park(long handle, int event, long deadlineNanos) {
        Thread me = Thread.currentThread();
        AtomicBoolean due = new AtomicBoolean();
        Runnable wake = () -> {
            due.set(true);
            LockSupport.unpark(me);
        };
        int rc = await(handle, event, wake);
        if (rc < 0) return rc;
        while (!due.get()) {
            int why = me.isInterrupted() ? INTERRUPTED : 0;
            if (why == 0 && deadlineNanos == 0) {
                LockSupport.park(Readiness.class);
                continue;
            }
            long left = deadlineNanos - System.nanoTime();
            if (why == 0 && left <= 0) why = TIMED_OUT;
            if (why != 0) {
                Waiters w = WAITERS.get(handle);
                if (w != null) w.queue(event).remove(wake); // a silent peer must not pile up tasks
                return due.get() ? READY : why;
            }
            LockSupport.parkNanos(Readiness.class, left);
        }
        return READY;
    }

    /** {@code handle} was closed: runs its waiting tasks (they find it closed) and forgets it. */
    public static void closed(long handle) {
        Waiters w = WAITERS.remove(handle);
        if (w == null) return;
        w.connectResult = CLOSED;
        w.runAll(WsdxNative.FD_READ | WsdxNative.FD_WRITE | WsdxNative.FD_ACCEPT | WsdxNative.FD_CONNECT);
    }

    /**
     * Whether {@code handle} has readiness events: in-process handles do; the installed Windows
     * backend's (bit {@code WSDX_HANDLE_INSTALLED} of backend.h set) fail them WSAEOPNOTSUPP for now,
     * so blocking calls on them wait in native code.
     */
    public static boolean supported(long handle) {
        return (handle & 0x80000000L) == 0;
    }

    /**
     * Whether the caller is the library's notifier thread (inside a callback): no application code
     * runs there but {@code Connection.NOTIFIER_THREAD} listeners, which promise not to block, since
     * it would hold up every socket's events, and a close that waits for this socket's running
     * callback would wait for itself.
     *
     * @return true on the notifier thread
     */
    public static boolean onNotifierThread() {
        return ON_NOTIFIER.get();
    }

    /** Called by every callback from the library (readiness and close): marks its thread as the notifier. */
    static void markNotifierThread() {
        ON_NOTIFIER.set(true);
    }

    /** Handles with waiting tasks (for leak checks). */
    public static int tracked() {
        return WAITERS.size();
    }

    /** Whether {@code handle} has a waiter entry (for leak checks that look at their own handles only). */
    public static boolean tracked(long handle) {
        return WAITERS.containsKey(handle);
    }

    /** A handle's waiting tasks, per event. */
    private static final class Waiters {
        final Queue<Runnable> read = new ConcurrentLinkedQueue<>();
        final Queue<Runnable> write = new ConcurrentLinkedQueue<>();
        final Queue<Runnable> accept = new ConcurrentLinkedQueue<>();
        final Queue<Runnable> connect = new ConcurrentLinkedQueue<>();
        /** FD_CONNECT's error, set before the connect tasks run. */
        volatile int connectResult = CLOSED;

        Queue<Runnable> queue(int event) {
            switch (event) {
                case WsdxNative.FD_READ: return read;
                case WsdxNative.FD_WRITE: return write;
                case WsdxNative.FD_ACCEPT: return accept;
                case WsdxNative.FD_CONNECT: return connect;
                default: throw new IllegalArgumentException("event " + event);
            }
        }

        boolean isEmpty() {
            return read.isEmpty() && write.isEmpty() && accept.isEmpty() && connect.isEmpty();
        }

        void runAll(int events) {
            if ((events & WsdxNative.FD_READ) != 0) drain(read);
            if ((events & WsdxNative.FD_WRITE) != 0) drain(write);
            if ((events & WsdxNative.FD_ACCEPT) != 0) drain(accept);
            if ((events & WsdxNative.FD_CONNECT) != 0) drain(connect);
        }

        private static void drain(Queue<Runnable> q) {
            for (Runnable r; (r = q.poll()) != null; ) {
                try {
                    r.run();
                } catch (Throwable t) {
                    log.error("readiness task {} threw", r, t);
                }
            }
        }
    }

    private static final class Trampoline implements WsdxNative.EventFn {
        @Override
        public void invoke(long s, int events, int error, Pointer ctx) {
            try {
                markNotifierThread();
                Waiters w = WAITERS.get(s);
                if (w == null) return;
                if ((events & WsdxNative.FD_CONNECT) != 0) w.connectResult = error;
                w.runAll(events);
            } catch (Throwable t) {
                try {
                    log.error("readiness event of socket {} could not be dispatched", s, t);
                } catch (Throwable ignored) {
                    // never into native code
                }
            }
        }
    }
}
