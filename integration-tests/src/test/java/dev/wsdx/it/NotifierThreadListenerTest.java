package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.Mode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link Connection#NOTIFIER_THREAD}: a close listener that runs on the thread the kernel woke, as a
 * Netty handler runs on its event loop (R1, R5), and what it may do there.
 */
class NotifierThreadListenerTest {

    @Test
    void R1_R5_notifierThreadListenerRunsOnTheNotifierBeforeTheFutureAndMayTakeTheData() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            CompletableFuture<CloseEvent> future = p.client.closeFuture();
            CompletableFuture<String> seen = new CompletableFuture<>();
            p.client.onClose((c, ev) -> {
                try {
                    ByteBuffer d = c.receiveDisconnect();
                    seen.complete(Thread.currentThread().getName() + " future done: " + future.isDone()
                            + " data: " + StandardCharsets.US_ASCII.decode(d) + " event data: " + ev.hasDisconnectData());
                } catch (Exception e) {
                    seen.completeExceptionally(e);
                }
            }, Connection.NOTIFIER_THREAD);
            p.accepted.sendDisconnect(ByteBuffer.wrap("bye".getBytes(StandardCharsets.US_ASCII)));
            p.accepted.close();
            assertEquals("wsdx-notifier future done: false data: bye event data: true", await(seen, "the listener"));
            assertTrue(await(future, "the close future").hasDisconnectData());
        }
    }

    @Test
    void S7_onALocalCloseOrAddedAfterTheEventItRunsOnTheCallingThread() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            String[] ran = new String[2];
            p.client.onClose((c, ev) -> ran[0] = Thread.currentThread().getName(), Connection.NOTIFIER_THREAD);
            p.client.close();
            assertEquals(Thread.currentThread().getName(), ran[0], "a local close runs it on the closing thread");
            p.client.onClose((c, ev) -> ran[1] = Thread.currentThread().getName(), Connection.NOTIFIER_THREAD);
            assertEquals(Thread.currentThread().getName(), ran[1], "added after the event: at once, here");
        }
    }

    @Test
    void R1_S7_aListenerClosesItsOwnConnectionThereAndALateFutureStillCompletes() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            CompletableFuture<Boolean> closedThere = new CompletableFuture<>();
            p.client.onClose((c, ev) -> {
                try {
                    c.close();
                    closedThere.complete(!c.isOpen());
                } catch (Exception e) {
                    closedThere.completeExceptionally(e);
                }
            }, Connection.NOTIFIER_THREAD);
            p.accepted.close();
            assertTrue(await(closedThere, "the listener's own close"));
            // nobody took the future before the event: it completed on the notifier, without an event thread
            CloseEvent ev = await(p.client.closeFuture(), "a close future taken after the event");
            assertEquals(CloseEvent.Origin.PEER, ev.origin());
        }
    }

    /**
     * A listener on the notifier closes its connection while another thread is closing it. That
     * thread's library close waits for this very callback to end, so a close that waited for the
     * other thread here would deadlock; it returns at once instead, and the other thread finishes.
     */
    @Test
    void S11_aCloseInTheListenerWhileAnotherThreadClosesReturnsAtOnce() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            CountDownLatch inListener = new CountDownLatch(1);
            Thread[] closer = new Thread[1];
            CompletableFuture<String> listenerClose = new CompletableFuture<>();
            p.client.onClose((c, ev) -> {
                inListener.countDown();
                try {
                    awaitInLibraryClose(closer);
                    c.close();
                    listenerClose.complete("returned");
                } catch (Exception e) {
                    listenerClose.completeExceptionally(e);
                }
            }, Connection.NOTIFIER_THREAD);
            p.accepted.close();
            assertTrue(inListener.await(WAIT_S, TimeUnit.SECONDS), "the listener ran");
            CompletableFuture<Boolean> closed = async("closer", () -> {
                closer[0] = Thread.currentThread();
                p.client.close();
                return true;
            });
            assertEquals("returned", await(listenerClose, "the listener's close"));
            assertTrue(await(closed, "the other thread's close"));
            assertFalse(p.client.isOpen());
        }
    }

    /** Waits until the closing thread is inside the library's close, which waits for this callback. */
    private static void awaitInLibraryClose(Thread[] closer) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            Thread t = closer[0];
            StackTraceElement[] st = t == null ? new StackTraceElement[0] : t.getStackTrace();
            if (st.length > 0 && st[0].isNativeMethod() && st[0].getMethodName().equals("wsdx_close")) return;
            Thread.sleep(5);
        }
        throw new AssertionError("the other thread never reached the library's close: " + closer[0]);
    }
}
