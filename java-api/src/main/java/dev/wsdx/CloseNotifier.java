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
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The close listeners and close future of one connection. The first {@link #fire} wins; every
 * listener is called exactly once on its executor, whether registered before or after the event;
 * a throwing listener is logged and does not keep the others from running.
 */
final class CloseNotifier {
    private static final Logger log = LoggerFactory.getLogger(CloseNotifier.class);

    /** System property: the most close-event threads. */
    static final String EVENT_THREADS_PROPERTY = "wsdx.eventThreads";
    /**
     * Most threads {@link #EVENT_THREADS} runs (system property {@value #EVENT_THREADS_PROPERTY}, default
     * {@code max(16, 2 x cores)}): events queue beyond that instead of adding threads. Enough that a few
     * listeners blocking on a direct executor do not hold up other connections' events.
     */
    static final int EVENT_THREAD_LIMIT = Math.max(1, Integer.getInteger(EVENT_THREADS_PROPERTY,
            Math.max(16, 2 * Runtime.getRuntime().availableProcessors())));

    /**
     * Delivers peer events off the native notifier thread, so that neither the close future's
     * dependents nor a slow {@link Executor#execute} can stall it. At most {@link #EVENT_THREAD_LIMIT}
     * daemon threads, started on demand and ended after 30 s idle; further events wait in a queue.
     */
    static final Executor EVENT_THREADS = eventThreads();

    /** {@link Connection#NOTIFIER_THREAD}: recognised by identity; anywhere else a direct executor. */
    static final Executor NOTIFIER_THREAD = new Executor() {
        @Override
        public void execute(Runnable command) {
            command.run();
        }

        @Override
        public String toString() {
            return "Connection.NOTIFIER_THREAD";
        }
    };

    private final Connection owner;
    private final CompletableFuture<CloseEvent> future = new CompletableFuture<>();
    private final Object lock = new Object();
    private List<Registration> pending = new ArrayList<>(); // guarded by lock; null once the event is known
    private CloseEvent event; // guarded by lock
    private boolean claimed; // guarded by lock
    private boolean futureShared; // guarded by lock: future() was called, so the future may have dependents

    CloseNotifier(Connection owner) {
        this.owner = owner;
    }

    /** Completes once, with the event of the first {@link #fire}. Callers get a copy they may complete. */
    CompletableFuture<CloseEvent> future() {
        synchronized (lock) {
            futureShared = true;
        }
        return future.copy();
    }

    /** The event, once known; else null (also while a claimed event is still being made). */
    CloseEvent event() {
        synchronized (lock) {
            return event;
        }
    }

    /** Whether an event was fired (claimed), even if not yet made or delivered. */
    boolean isClaimed() {
        synchronized (lock) {
            return claimed;
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
            if (claimed) return false;
            claimed = true;
            toRun = settle(ev); // in the same hold: the event is known as soon as it is claimed
        }
        run(via, () -> deliver(ev, toRun));
        return true;
    }

    /**
     * As {@link #fire(CloseEvent, Executor)}, but the event is made on {@code via}'s thread (it may
     * call into the library), or here when {@link #NOTIFIER_THREAD} listeners wait for it; listeners
     * added meanwhile wait for it. If making it fails, {@code ifFails} is delivered: never no event.
     */
    boolean fire(Supplier<CloseEvent> make, CloseEvent ifFails, Executor via) {
        List<Registration> here;
        synchronized (lock) {
            if (claimed) return false;
            claimed = true;
            here = takeNotifierListeners();
        }
        if (!here.isEmpty()) { // they asked for this thread: make the event here, run them, then the rest via
            CloseEvent ev = make(make, ifFails);
            List<Registration> toRun = settle(ev);
            for (Registration r : here) call(r, ev);
            if (!toRun.isEmpty() || !completeUnshared(ev)) run(via, () -> deliver(ev, toRun));
            return true;
        }
        run(via, () -> {
            CloseEvent ev = make(make, ifFails);
            deliver(ev, settle(ev));
        });
        return true;
    }

    private static CloseEvent make(Supplier<CloseEvent> make, CloseEvent ifFails) {
        try {
            return make.get();
        } catch (Throwable e) { // even an Error: a claimed event that is never delivered would hang every waiter
            log.warn("making the close event failed; delivering {} without its data", ifFails, e);
            return ifFails;
        }
    }

    /** Records the claimed event; returns the listeners that were waiting for it (later ones get it at once). */
    private List<Registration> settle(CloseEvent ev) {
        synchronized (lock) {
            event = ev;
            List<Registration> toRun = pending;
            pending = null;
            return toRun;
        }
    }

    /** Completes the future here if nobody can depend on it yet (no wake-up of an event thread for nothing). */
    private boolean completeUnshared(CloseEvent ev) {
        synchronized (lock) {
            if (futureShared) return false;
            future.complete(ev); // no dependents: future() would have set futureShared first
            return true;
        }
    }

    /** Removes and returns the pending {@link #NOTIFIER_THREAD} listeners. Under lock. */
    private List<Registration> takeNotifierListeners() {
        List<Registration> here = new ArrayList<>(0);
        for (java.util.Iterator<Registration> it = pending.iterator(); it.hasNext(); ) {
            Registration r = it.next();
            if (r.executor == NOTIFIER_THREAD) {
                here.add(r);
                it.remove();
            }
        }
        return here;
    }

    private static void run(Executor via, Runnable task) {
        try {
            via.execute(task);
        } catch (Throwable t) { // never lose the event: deliver here instead
            log.warn("event executor refused a close event; delivering on {}", Thread.currentThread().getName(), t);
            task.run();
        }
    }

    /**
     * Listeners first: whoever waits on the future may shut their executor down once it completes.
     * A listener whose executor runs it at once on this thread (a direct executor) runs after the
     * future completes instead, so that a slow one cannot hold the future back.
     */
    private void deliver(CloseEvent ev, List<Registration> toRun) {
        List<Runnable> direct = new ArrayList<>(0);
        for (Registration r : toRun) dispatch(r, ev, direct);
        try {
            future.complete(ev);
        } catch (Throwable t) {
            log.warn("a dependent of closeFuture() failed", t);
        }
        for (Runnable d : direct) d.run();
    }

    private void dispatch(Registration r, CloseEvent ev) {
        dispatch(r, ev, null);
    }

    /** Hands the listener to its executor; if that runs it here and now, defers it into {@code direct}. */
    private void dispatch(Registration r, CloseEvent ev, List<Runnable> direct) {
        Thread dispatching = Thread.currentThread();
        boolean[] inExecute = {true};
        Runnable call = () -> call(r, ev);
        try {
            r.executor.execute(() -> {
                if (direct != null && inExecute[0] && Thread.currentThread() == dispatching) direct.add(call);
                else call.run();
            });
        } catch (Throwable t) {
            log.warn("executor {} refused close listener {} for {}", r.executor, r.listener, ev, t);
        } finally {
            inExecute[0] = false;
        }
    }

    private void call(Registration r, CloseEvent ev) {
        try {
            r.listener.onClose(owner, ev);
        } catch (Throwable t) {
            log.warn("close listener {} threw on {}", r.listener, ev, t);
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
