package dev.wsdx.it;

import dev.wsdx.Connection;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Child JVM main on JDK 21+ (see {@link EventDrivenTest}): a virtual thread parked in a blocking
 * {@code read}, then one parked in {@code accept}, each interrupted. Prints "READ &lt;exception&gt;
 * interrupted=&lt;status&gt; parked=&lt;was WAITING&gt; open=&lt;still open&gt;", and the same for "ACCEPT".
 * Compiled for Java 17: virtual threads are started reflectively.
 */
public final class VirtualInterrupt {
    private VirtualInterrupt() {}

    public static void main(String[] args) throws Exception {
        try (Server server = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM)) {
            Connection client = Connection.open(new InetSocketAddress("127.0.0.1", server.localPort()), Mode.STREAM);
            Connection accepted = server.accept();
            System.out.println("READ " + interruptParked(() -> client.read(ByteBuffer.allocate(8)))
                    + " open=" + client.isOpen());
            accepted.close();
            Server other = Server.bind(new InetSocketAddress("127.0.0.1", 0), Mode.STREAM);
            System.out.println("ACCEPT " + interruptParked(other::accept) + " open=" + isOpen(other));
        }
        System.out.flush();
        System.exit(0);
    }

    private static boolean isOpen(Server s) throws Exception {
        try {
            s.accept(java.time.Duration.ZERO);
            return true;
        } catch (dev.wsdx.SocketClosedException closed) {
            return false;
        } catch (dev.wsdx.WouldBlockException open) {
            return true;
        }
    }

    /** Runs {@code call} on a virtual thread, interrupts it once parked; what it threw and its status. */
    private static String interruptParked(It.ThrowingSupplier<?> call) throws Exception {
        CompletableFuture<String> result = new CompletableFuture<>();
        Runnable task = () -> {
            try {
                call.get();
                result.complete("returned");
            } catch (Throwable e) {
                result.complete(e.getClass().getSimpleName() + " interrupted=" + Thread.currentThread().isInterrupted());
            }
        };
        Thread vt = (Thread) Thread.class.getMethod("startVirtualThread", Runnable.class).invoke(null, task);
        for (int i = 0; i < 1000 && vt.getState() != Thread.State.WAITING; i++) Thread.sleep(10);
        String state = vt.getState().toString();
        vt.interrupt();
        return result.get(10, TimeUnit.SECONDS) + " parked=" + state.equals("WAITING");
    }
}
