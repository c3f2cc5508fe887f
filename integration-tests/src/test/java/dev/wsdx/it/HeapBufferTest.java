package dev.wsdx.it;

import static dev.wsdx.it.It.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.wsdx.Connection;
import dev.wsdx.MessageTooLargeException;
import dev.wsdx.Mode;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Issue 10.3: a heap buffer costs about what a direct one does per byte. Reading small messages into
 * a buffer much larger than them, or moving large messages through heap buffers, allocates no direct
 * memory per call (it used to allocate {@code dst.remaining()} bytes of direct memory per read, held
 * until the GC); truncation of a message larger than the buffer is still reported exactly.
 * Measured by allocation (the JVM's direct buffer pool), never by time.
 */
class HeapBufferTest {
    static final int BIG = 16 * 1024 * 1024;
    static final long SLACK = 1024 * 1024;

    @Test
    void smallMessagesIntoAHugeHeapBufferAllocateNoDirectMemoryPerRead() throws Exception {
        try (Pair p = pair(Mode.MESSAGE)) {
            ByteBuffer dst = ByteBuffer.allocate(BIG);
            long base = directCapacity();
            long peak = 0;
            for (int i = 0; i < 50; i++) {
                ByteBuffer m = patterned(i, 10);
                p.accepted.write(m);
                dst.clear();
                assertEquals(10, p.client.read(dst, WAIT), "message " + i);
                for (int k = 0; k < 10; k++) assertEquals(pat(i + k), dst.get(k), "byte " + k + " of message " + i);
                peak = Math.max(peak, directCapacity() - base);
            }
            assertTrue(peak < SLACK, "direct memory grew by " + peak + " bytes for 50 ten-byte reads");
        }
    }

    @Test
    void largeMessagesThroughHeapBuffersAllocateNoDirectMemoryPerCall() throws Exception {
        int size = 1024 * 1024;
        int count = 20;
        try (Pair p = pair(Mode.MESSAGE)) {
            long base = directCapacity();
            CompletableFuture<Void> writer = asyncRun("writer", () -> {
                for (int i = 0; i < count; i++) p.accepted.write(patterned(i, size));
            });
            ByteBuffer dst = ByteBuffer.allocate(2 * size);
            long peak = 0;
            for (int i = 0; i < count; i++) {
                dst.clear();
                assertEquals(size, p.client.read(dst, WAIT));
                assertEquals(pat(i), dst.get(0));
                assertEquals(pat(i + size - 1L), dst.get(size - 1));
                peak = Math.max(peak, directCapacity() - base);
            }
            await(writer, "writer");
            assertTrue(peak < SLACK, "direct memory grew by " + peak + " bytes for " + count + " 1 MiB messages");
        }
    }

    /** A message over the heap buffer is cut at exactly its size, through the large (one-off) path too. */
    @Test
    void truncationIsStillExactForLargeHeapReads() throws Exception {
        int size = 1024 * 1024, room = 600 * 1024;
        try (Pair p = pair(Mode.MESSAGE)) {
            p.accepted.write(patterned(0, size));
            p.accepted.write(buf("next"));
            ByteBuffer dst = ByteBuffer.allocate(room);
            assertThrows(MessageTooLargeException.class, () -> p.client.read(dst, WAIT));
            assertEquals(room, dst.position(), "the first bytes were stored");
            for (int k = 0; k < room; k += 4099) assertEquals(pat(k), dst.get(k), "byte " + k);
            assertArrayEquals(bytes("next"), readMessage(p.client), "the rest dropped, boundaries kept");
        }
    }

    private static long directCapacity() {
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) return b.getTotalCapacity();
        }
        throw new AssertionError("no direct buffer pool");
    }
}
