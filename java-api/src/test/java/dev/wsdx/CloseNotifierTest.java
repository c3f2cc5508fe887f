package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.wsdx.CloseEvent.Origin;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CloseNotifierTest {
    private static final CloseEvent PEER_RESET = CloseEvent.of(Origin.PEER, WsaError.WSAECONNRESET, false);
    private static final java.util.concurrent.Executor DIRECT = Runnable::run;

    private final CloseNotifier notifier = new CloseNotifier(null);

    @Test
    void listenerRegisteredBeforeTheEventIsCalledOnce() {
        List<CloseEvent> seen = new ArrayList<>();
        notifier.add((c, e) -> seen.add(e), DIRECT);
        assertTrue(seen.isEmpty());
        assertTrue(notifier.fire(PEER_RESET, DIRECT));
        assertEquals(List.of(PEER_RESET), seen);
    }

    @Test
    void onlyTheFirstEventIsDelivered() throws Exception {
        List<CloseEvent> seen = new ArrayList<>();
        notifier.add((c, e) -> seen.add(e), DIRECT);
        CompletableFuture<CloseEvent> f = notifier.future();
        assertTrue(notifier.fire(PEER_RESET, DIRECT));
        assertFalse(notifier.fire(CloseEvent.local(), DIRECT));
        assertEquals(List.of(PEER_RESET), seen);
        assertSame(PEER_RESET, f.getNow(null));
        assertSame(PEER_RESET, notifier.future().getNow(null));
        assertSame(PEER_RESET, notifier.event());
    }

    @Test
    void lateRegistrationIsCalledAtOnceOnItsExecutor() {
        notifier.fire(CloseEvent.local(), DIRECT);
        List<Runnable> queued = new ArrayList<>();
        List<CloseEvent> seen = new ArrayList<>();
        notifier.add((c, e) -> seen.add(e), queued::add);
        assertEquals(1, queued.size(), "handed to its executor");
        assertTrue(seen.isEmpty(), "not run on the caller's thread");
        queued.get(0).run();
        assertEquals(List.of(CloseEvent.local()), seen);
    }

    @Test
    void listenersRunOnTheirOwnExecutors() {
        List<Runnable> a = new ArrayList<>();
        List<Runnable> b = new ArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        notifier.add((c, e) -> calls.incrementAndGet(), a::add);
        notifier.add((c, e) -> calls.incrementAndGet(), b::add);
        notifier.fire(PEER_RESET, DIRECT);
        assertEquals(1, a.size());
        assertEquals(1, b.size());
        assertEquals(0, calls.get());
        a.get(0).run();
        b.get(0).run();
        assertEquals(2, calls.get());
    }

    @Test
    void throwingListenerDoesNotStopTheOthers() {
        AtomicInteger calls = new AtomicInteger();
        notifier.add((c, e) -> calls.incrementAndGet(), DIRECT);
        notifier.add((c, e) -> { throw new IllegalStateException("boom (expected by the test)"); }, DIRECT);
        notifier.add((c, e) -> calls.incrementAndGet(), DIRECT);
        notifier.fire(PEER_RESET, DIRECT);
        assertEquals(2, calls.get());
    }

    @Test
    void rejectingExecutorDoesNotStopTheOthers() {
        AtomicInteger calls = new AtomicInteger();
        notifier.add((c, e) -> calls.incrementAndGet(), r -> {
            throw new java.util.concurrent.RejectedExecutionException("full (expected by the test)");
        });
        notifier.add((c, e) -> calls.incrementAndGet(), DIRECT);
        notifier.fire(PEER_RESET, DIRECT);
        assertEquals(1, calls.get());
    }

    @Test
    void deliveryHappensOnTheGivenExecutor() {
        List<Runnable> via = new ArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        notifier.add((c, e) -> calls.incrementAndGet(), DIRECT);
        CompletableFuture<CloseEvent> f = notifier.future();
        assertTrue(notifier.fire(PEER_RESET, via::add));
        assertFalse(f.isDone(), "claimed, not yet delivered");
        assertSame(PEER_RESET, notifier.event(), "claimed at once");
        assertFalse(notifier.fire(CloseEvent.local(), DIRECT), "a later local close loses");
        via.get(0).run();
        assertSame(PEER_RESET, f.getNow(null));
        assertEquals(1, calls.get());
    }

    @Test
    void closeFutureCopiesAreIndependent() {
        CompletableFuture<CloseEvent> mine = notifier.future();
        mine.complete(CloseEvent.local());
        assertFalse(notifier.future().isDone(), "completing a copy does not complete the source");
        notifier.fire(PEER_RESET, DIRECT);
        assertSame(PEER_RESET, notifier.future().getNow(null));
    }

    @Test
    void eventThreadsDeliverOffTheCallingThread() throws Exception {
        CompletableFuture<Thread> where = new CompletableFuture<>();
        notifier.add((c, e) -> where.complete(Thread.currentThread()), DIRECT);
        notifier.fire(PEER_RESET, CloseNotifier.EVENT_THREADS);
        Thread t = where.get(5, TimeUnit.SECONDS);
        assertTrue(t.isDaemon());
        assertTrue(t.getName().startsWith("wsdx-event-"), t.getName());
    }

    @Test
    void everyListenerExactlyOnceUnderRacingRegistrationAndFire() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            for (int round = 0; round < 200; round++) {
                CloseNotifier n = new CloseNotifier(null);
                int listeners = 20;
                AtomicInteger[] counts = new AtomicInteger[listeners];
                CountDownLatch start = new CountDownLatch(1);
                CountDownLatch done = new CountDownLatch(listeners + 2);
                List<Boolean> fired = new CopyOnWriteArrayList<>();
                for (int i = 0; i < listeners; i++) {
                    AtomicInteger count = counts[i] = new AtomicInteger();
                    pool.execute(() -> {
                        await(start);
                        n.add((c, e) -> count.incrementAndGet(), DIRECT);
                        done.countDown();
                    });
                }
                for (CloseEvent ev : List.of(PEER_RESET, CloseEvent.local())) {
                    pool.execute(() -> {
                        await(start);
                        fired.add(n.fire(ev, DIRECT));
                        done.countDown();
                    });
                }
                start.countDown();
                assertTrue(done.await(10, TimeUnit.SECONDS));
                assertEquals(1, fired.stream().filter(b -> b).count(), "exactly one fire wins");
                for (AtomicInteger c : counts) assertEquals(1, c.get(), "round " + round);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Issue 10.7: the listener is with its executor before the future completes. */
    @Test
    void listenersAreHandedOverBeforeTheFutureCompletes() throws Exception {
        ExecutorService listenerPool = Executors.newSingleThreadExecutor();
        AtomicInteger ran = new AtomicInteger();
        notifier.add((c, e) -> ran.incrementAndGet(), listenerPool);
        // what a service does once it saw the close (here as soon as it can): the listener must still run
        CompletableFuture<Void> f = notifier.future().thenRun(listenerPool::shutdown);
        notifier.fire(PEER_RESET, CloseNotifier.EVENT_THREADS);
        f.get(5, TimeUnit.SECONDS);
        assertTrue(listenerPool.awaitTermination(5, TimeUnit.SECONDS));
        assertEquals(1, ran.get(), "the listener was dispatched before get() returned");
    }

    /** Issue 10.7: many events with slow future dependents never start more than the limit of threads. */
    @Test
    void eventThreadsAreBounded() throws Exception {
        int events = 120;
        CountDownLatch done = new CountDownLatch(events);
        java.util.Set<Thread> used = java.util.concurrent.ConcurrentHashMap.newKeySet();
        for (int i = 0; i < events; i++) {
            CloseNotifier n = new CloseNotifier(null);
            n.future().thenRun(() -> {
                used.add(Thread.currentThread());
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                done.countDown();
            });
            n.fire(PEER_RESET, CloseNotifier.EVENT_THREADS);
        }
        assertTrue(done.await(30, TimeUnit.SECONDS));
        long live = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("wsdx-event-")).count();
        assertTrue(live <= CloseNotifier.EVENT_THREAD_LIMIT, live + " event threads alive");
        assertTrue(used.size() <= CloseNotifier.EVENT_THREAD_LIMIT, used.size() + " event threads used");
    }

    private static void await(CountDownLatch l) {
        try {
            l.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** An event made on the delivering thread: the first claim wins, a later one (made or given) is dropped. */
    @Test
    void aMadeEventClaimsOnceToo() {
        AtomicInteger made = new AtomicInteger();
        assertTrue(notifier.fire(() -> {
            made.incrementAndGet();
            return PEER_RESET;
        }, CloseEvent.local(), DIRECT));
        assertFalse(notifier.fire(() -> {
            made.incrementAndGet();
            return CloseEvent.local();
        }, CloseEvent.local(), DIRECT));
        assertFalse(notifier.fire(CloseEvent.local(), DIRECT));
        assertEquals(1, made.get());
        assertSame(PEER_RESET, notifier.future().getNow(null));
    }

    /** Making the event fails: the fallback is delivered, so the future and every listener still complete. */
    @Test
    void aFailureToMakeTheEventDeliversTheFallback() {
        List<CloseEvent> seen = new ArrayList<>();
        notifier.add((c, e) -> seen.add(e), DIRECT);
        notifier.add((c, e) -> seen.add(e), CloseNotifier.NOTIFIER_THREAD);
        assertTrue(notifier.fire(() -> {
            throw new IllegalStateException("made to fail by the test");
        }, PEER_RESET, DIRECT));
        assertEquals(List.of(PEER_RESET, PEER_RESET), seen);
        assertSame(PEER_RESET, notifier.future().getNow(null));
    }

    /**
     * NOTIFIER_THREAD listeners run on the firing thread before the future completes; the rest go
     * through {@code via}; the future completes without {@code via} only if nobody took it.
     */
    @Test
    void notifierThreadListenersRunOnTheFiringThreadFirst() {
        List<String> order = new ArrayList<>();
        List<Runnable> via = new ArrayList<>();
        CompletableFuture<CloseEvent> f = notifier.future();
        notifier.add((c, e) -> order.add("other"), DIRECT);
        notifier.add((c, e) -> order.add("notifier, future done: " + f.isDone()), CloseNotifier.NOTIFIER_THREAD);
        assertTrue(notifier.fire(() -> PEER_RESET, CloseEvent.local(), via::add));
        assertEquals(List.of("notifier, future done: false"), order);
        assertEquals(1, via.size(), "the rest is handed over");
        via.get(0).run();
        assertEquals(List.of("notifier, future done: false", "other"), order);
        assertSame(PEER_RESET, f.getNow(null));

        CloseNotifier quiet = new CloseNotifier(null);
        List<Runnable> none = new ArrayList<>();
        quiet.add((c, e) -> { }, CloseNotifier.NOTIFIER_THREAD);
        assertTrue(quiet.fire(() -> PEER_RESET, CloseEvent.local(), none::add));
        assertTrue(none.isEmpty(), "nothing left to hand over");
        assertSame(PEER_RESET, quiet.future().getNow(null), "completed on the firing thread");
    }

    /** An executor that refuses the delivery does not lose the event: it is delivered on the firing thread. */
    @Test
    void aRefusedDeliveryRunsHere() {
        List<CloseEvent> seen = new ArrayList<>();
        notifier.add((c, e) -> seen.add(e), DIRECT);
        assertTrue(notifier.fire(PEER_RESET, r -> {
            throw new java.util.concurrent.RejectedExecutionException("full (expected by the test)");
        }));
        assertEquals(List.of(PEER_RESET), seen);
        assertSame(PEER_RESET, notifier.future().getNow(null));
    }
}
