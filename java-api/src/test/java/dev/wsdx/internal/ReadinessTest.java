package dev.wsdx.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The readiness table forgets what it cannot wait for. */
class ReadinessTest {

    /**
     * A wait the library refuses (the handle is gone) reports the library's code, never runs its task,
     * and leaves no entry behind (a silent or closed peer must not pile up entries).
     */
    @Test
    void aRefusedWaitLeavesNothingBehind() {
        long h = WsdxNative.wsdx_socket_open(1); // WSDX_STREAM
        assertTrue(h > 0);
        assertEquals(0, WsdxNative.wsdx_close(h));
        AtomicInteger ran = new AtomicInteger();
        for (int event : new int[] {WsdxNative.FD_READ, WsdxNative.FD_WRITE, WsdxNative.FD_ACCEPT}) {
            assertEquals(-10038, Readiness.await(h, event, ran::incrementAndGet)); // WSAENOTSOCK
            assertFalse(Readiness.tracked(h), "entry removed");
        }
        assertEquals(-10038, Readiness.awaitConnect(h, r -> ran.incrementAndGet()));
        assertFalse(Readiness.tracked(h));
        assertEquals(-10038, Readiness.park(h, WsdxNative.FD_READ, 0));
        assertEquals(0, ran.get());
    }
}
