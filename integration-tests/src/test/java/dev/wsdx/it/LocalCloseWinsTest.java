package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.CloseEvent;
import dev.wsdx.Connection;
import dev.wsdx.Mode;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * R5 seen from Java: one close event per connection, and a local close that comes first is the
 * event delivered, whatever the peer does afterwards. Hand mutations that made these fail
 * (java-api, restored after): {@code Connection.close()} without its {@code fire(CloseEvent.local())}
 * (the future stays pending: both tests fail); {@code CloseNotifier.fire} without its
 * {@code if (pending == null) return false} (a second event overwrites the first: both fail).
 */
class LocalCloseWinsTest {

    @Test
    void R5_localCloseBeforePeerCloseIsTheEvent() throws Exception {
        try (Pair p = pair(Mode.STREAM)) {
            Connection local = p.client, peer = p.accepted;
            Recorder before = new Recorder();
            local.onClose(before, Runnable::run);
            CompletableFuture<CloseEvent> future = local.closeFuture();

            local.close();
            assertTrue(future.isDone(), "the local close completes the future on the closing thread");
            assertEquals(CloseEvent.Origin.LOCAL, future.getNow(null).origin());
            assertEquals(0, future.getNow(null).errorCode());

            peer.close(); // the peer's FIN/RST reach a closed socket: no second event
            Recorder after = new Recorder();
            local.onClose(after, Runnable::run);
            assertEquals(CloseEvent.Origin.LOCAL, await(after.first, "late listener").origin());
            assertEquals(CloseEvent.Origin.LOCAL, awaitClose(local, "late closeFuture").origin());
            Thread.sleep(QUIET.toMillis());
            assertEquals(1, before.count(), "one event: " + before.events);
            assertEquals(CloseEvent.Origin.LOCAL, before.events.get(0).origin());
        }
    }

    /** The peer's FIN and the local close race: either may win, but exactly one event is delivered,
     *  the same one to the future and to every listener. */
    @Test
    void R5_racingLocalAndPeerCloseDeliverOneEvent() throws Exception {
        int local = 0, peerWon = 0;
        for (int i = 0; i < 40; i++) {
            try (Pair p = pair(Mode.STREAM)) {
                Recorder rec = new Recorder();
                p.client.onClose(rec, Runnable::run);
                p.accepted.shutdownOutput();
                if (i % 2 == 1) Thread.onSpinWait();
                p.client.close();
                CompletableFuture<CloseEvent> f = p.client.closeFuture();
                boolean doneAtReturn = f.isDone();
                CloseEvent ev = await(f, "closeFuture");
                // a LOCAL event completes it on the closing thread; a PEER one on an event thread
                assertTrue(doneAtReturn || ev.origin() == CloseEvent.Origin.PEER, "LOCAL but not done: " + ev);
                assertEquals(ev, await(rec.first, "listener"));
                Thread.sleep(20);
                assertEquals(1, rec.count(), "one event: " + rec.events);
                if (ev.origin() == CloseEvent.Origin.LOCAL) local++;
                else {
                    assertGracefulPeerClose(ev, "client");
                    peerWon++;
                }
            }
        }
        assertEquals(40, local + peerWon);
    }
}
