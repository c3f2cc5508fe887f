package dev.wsdx.it;

import dev.wsdx.Connection;
import dev.wsdx.Mode;
import dev.wsdx.Server;
import dev.wsdx.TooManyOpenFilesException;
import dev.wsdx.WsaCoded;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The child of {@code ResourceLimitsTest.L1_…}: a server whose process runs out of descriptors while an
 * {@code accept()} already waits. Talks over stdout: "PORT n", "EXHAUSTED n", "ACCEPT1 class code",
 * "ACCEPT2 ok"; the parent connects between EXHAUSTED and ACCEPT1.
 */
public final class FdExhaustedServer {
    public static void main(String[] args) throws Exception {
        TooManyOpenFilesException.class.getName(); // loaded while descriptors remain
        try (Server server = Server.bind(new java.net.InetSocketAddress("127.0.0.1", 0), Mode.STREAM)) {
            System.out.println("PORT " + server.localAddress().getPort());
            CompletableFuture<String> first = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try (Connection c = server.accept()) {
                    first.complete("ACCEPT1 connected " + c);
                } catch (IOException e) {
                    first.complete("ACCEPT1 " + e.getClass().getSimpleName() + " "
                            + (e instanceof WsaCoded w ? w.wsaError() : -1));
                }
            }, "waiting-accept");
            waiter.start();
            while (!It.blockedInLibrary(waiter))
                Thread.sleep(10); // waiting in the library's accept before the descriptors run out
            List<FileChannel> hog = new ArrayList<>();
            try {
                for (;;) hog.add(FileChannel.open(Path.of("/dev/null")));
            } catch (IOException full) {
                System.out.println("EXHAUSTED " + hog.size());
            }
            System.out.println(first.get());
            for (FileChannel f : hog) f.close();
            try (Connection c = server.accept(Duration.ofSeconds(10))) {
                System.out.println("ACCEPT2 ok");
            }
        }
    }
}
