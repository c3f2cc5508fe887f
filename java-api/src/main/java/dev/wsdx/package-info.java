/**
 * wsdx: TCP connections with Winsock's shutdown semantics, for Java services.
 *
 * <h2>What it gives</h2>
 * A {@link dev.wsdx.Connection} (from {@link dev.wsdx.Connection#open(java.net.InetSocketAddress, Mode)}
 * or {@link dev.wsdx.Server#accept()}) offers what Winsock's service provider interface defines for
 * ending a connection: half-close ({@code shutdown}, rows S1–S4), disconnect data sent with the close
 * and read by the peer ({@code sendDisconnect} / {@code receiveDisconnect}, S5, S6), a close that
 * follows the {@link dev.wsdx.Linger} policy (graceful in the background, abortive reset, or
 * waiting, S7–S10), and a close event per connection ({@link dev.wsdx.CloseEvent}: graceful, reset,
 * aborted, protocol error, R1–R5) delivered to {@link dev.wsdx.CloseListener}s on your
 * {@link java.util.concurrent.Executor} and through {@link dev.wsdx.Connection#closeFuture()}.
 * The row ids refer to the project's statement of the contract, {@code docs/shutdown-contract.md} in
 * the source repository; the integration tests are named after them.
 *
 * <h2>Data</h2>
 * Reads and writes take {@link java.nio.ByteBuffer}s, heap or direct, with
 * {@link java.nio.channels.SocketChannel}'s position rules. {@link dev.wsdx.Mode#STREAM} is a byte
 * stream; {@link dev.wsdx.Mode#MESSAGE} keeps message boundaries. Both ends must be wsdx sockets of
 * the same mode: the connection speaks the wsdx protocol over TCP.
 *
 * <h2>Errors</h2>
 * Every failed call throws an {@link java.io.IOException} that implements {@link dev.wsdx.WsaCoded}
 * (the WSA code): {@link dev.wsdx.WsdxException} and its subclasses, or a {@code java.net} type where
 * one exists ({@link dev.wsdx.WsdxTimeoutException} is a {@link java.net.SocketTimeoutException},
 * {@link dev.wsdx.ConnectionRefusedException} a {@link java.net.ConnectException}). A closed socket
 * gives {@link dev.wsdx.SocketClosedException} (S11), also to a call that was blocked in it when
 * another thread closed it. "Nothing available now" is always {@link dev.wsdx.WouldBlockException}.
 *
 * <h2>Threads</h2>
 * Every public class is safe to use from any number of threads: {@code Connection} and {@code Server}
 * methods may be called concurrently (a call racing with {@code close()} completes or fails
 * {@code SocketClosedException}, never touches another socket); {@code CloseEvent}, {@code Linger}
 * and the exceptions are immutable. Blocking reads and accepts wait in native code on a platform
 * thread; on a virtual thread they (and a write that finds the send buffer full) park instead, so
 * the carrier is free (except on the installed Windows provider's handles, where every thread waits
 * in native code), and {@link java.lang.Thread#interrupt()} ends them as for an
 * {@link java.nio.channels.InterruptibleChannel}. Close listeners run on the executor given with
 * them; peer events are made on a small bounded pool of wsdx event threads, except for listeners
 * that ask for {@link dev.wsdx.Connection#NOTIFIER_THREAD}, which run on the library's notifier
 * thread, the thread the kernel woke.
 *
 * <h2>Resources and setup</h2>
 * {@code close()} always releases the native handle; a connection dropped without it is released by
 * a {@link java.lang.ref.Cleaner} and logged as a leak (system property {@code wsdx.leakDetection}:
 * {@code disabled}, {@code simple}, {@code paranoid}). {@link dev.wsdx.Wsdx#isAvailable()} says
 * whether the native library (carried in the jar for Linux x86-64 and Windows) loaded and matches
 * this jar. On JDK 24 and later pass {@code --enable-native-access=ALL-UNNAMED} (class path) or
 * {@code --enable-native-access=com.sun.jna} (module path). On Windows the calls can also run
 * through the installed layered service provider ({@link dev.wsdx.Backend},
 * {@link dev.wsdx.ProviderInstaller}).
 */
package dev.wsdx;
