package dev.wsdx;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The close listeners and close future of one connection. The first {@link #fire} wins; every
 * listener is called exactly once on its executor, whether registered before or after the event;
 * a throwing listener is logged and does not keep the others from running.
 */
final class CloseNotifier {
    private static final Logger log = LoggerFactory.getLogger(CloseNotifier.class);

    /** Most threads {@link #EVENT_THREADS} runs: events queue beyond that instead of adding threads. */
    static final int EVENT_THREAD_LIMIT = Math.max(2, Runtime.getRuntime().availableProcessors());

    /**
     * Delivers peer events off the native notifier thread, so that neither the close future's
     * dependents nor a slow {@link Executor#execute} can stall it. At most {@link #EVENT_THREAD_LIMIT}
     * daemon threads, started on demand and ended after 30 s idle; further events wait in a queue.
     */
    static final Executor EVENT_THREADS = eventThreads();

    private final Connection owner;
    private final CompletableFuture<CloseEvent> future = new CompletableFuture<>();
    private final Object lock = new Object();
    private List<Registration> pending = new ArrayList<>(); // guarded by lock; null once fired
    private CloseEvent event; // guarded by lock

    CloseNotifier(Connection owner) {
        this.owner = owner;
    }

    /** Completes once, with the event of the first {@link #fire}. Callers get a copy they may complete. */
    CompletableFuture<CloseEvent> future() {
        return future.copy();
    }

    /** The event, once fired; else null. */
    CloseEvent event() {
        synchronized (lock) {
            return event;
        }
    }

    /** Adds a listener; if the event already happened it is handed to {@code executor} now. */
    void add(CloseListener listener, Executor executor) {
        Registration r = new Registration(Objects.requireNonNull(listener, "listener"),
                Objects.requireNonNull(executor, "executor"));
        CloseEvent ev;
        synchronized (lock) {
            if (pending != null) {
                pending.add(r);
                return;
            }
            ev = event;
        }
        dispatch(r, ev);
    }

    /**
     * Claims the event at once (the first caller wins) and delivers it via {@code via}: completes
     * the future and hands each listener to its executor.
     *
     * @return false if an event had already been fired (this one is dropped)
     */
    boolean fire(CloseEvent ev, Executor via) {
        Objects.requireNonNull(ev, "event");
        List<Registration> toRun;
        synchronized (lock) {
            if (pending == null) return false;
            event = ev;
            toRun = pending;
            pending = null;
        }
        try {
            via.execute(() -> deliver(ev, toRun));
        } catch (Throwable t) { // never lose the event: deliver here instead
            log.warn("event executor refused {}; delivering on {}", ev, Thread.currentThread().getName(), t);
            deliver(ev, toRun);
        }
        return true;
    }

    /** Listeners first: whoever waits on the future may shut their executor down once it completes. */
    private void deliver(CloseEvent ev, List<Registration> toRun) {
        for (Registration r : toRun) dispatch(r, ev);
        try {
            future.complete(ev);
        } catch (Throwable t) {
            log.warn("a dependent of closeFuture() failed", t);
        }
    }

    private void dispatch(Registration r, CloseEvent ev) {
        try {
            r.executor.execute(() -> {
                try {
                    r.listener.onClose(owner, ev);
                } catch (Throwable t) {
                    log.warn("close listener {} threw on {}", r.listener, ev, t);
                }
            });
        } catch (Throwable t) {
            log.warn("executor {} refused close listener {} for {}", r.executor, r.listener, ev, t);
        }
    }

    private static Executor eventThreads() {
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor ex = new ThreadPoolExecutor(EVENT_THREAD_LIMIT, EVENT_THREAD_LIMIT, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "wsdx-event-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        ex.allowCoreThreadTimeOut(true);
        return ex;
    }

    private static final class Registration {
        final CloseListener listener;
        final Executor executor;

        Registration(CloseListener listener, Executor executor) {
            this.listener = listener;
            this.executor = executor;
        }
    }
}
