package dev.wsdx;

import dev.wsdx.internal.WsdxNative;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/** {@link StandardSocketOptions} and addresses of a connected socket, through the library. */
final class SocketOptions {
    /** The options a {@link Connection} supports, with their native numbers. */
    static final Map<SocketOption<?>, Integer> NATIVE = Map.of(
            StandardSocketOptions.TCP_NODELAY, WsdxNative.OPT_TCP_NODELAY,
            StandardSocketOptions.SO_KEEPALIVE, WsdxNative.OPT_KEEPALIVE,
            StandardSocketOptions.SO_RCVBUF, WsdxNative.OPT_RCVBUF,
            StandardSocketOptions.SO_SNDBUF, WsdxNative.OPT_SNDBUF);
    static final Set<SocketOption<?>> SUPPORTED = NATIVE.keySet();

    private SocketOptions() {}

    static <T> void set(long handle, SocketOption<T> name, T value) throws IOException {
        int opt = number(name);
        Objects.requireNonNull(value, "value");
        int v;
        if (value instanceof Boolean) {
            v = (Boolean) value ? 1 : 0;
        } else {
            v = (Integer) value;
            if (v < 0) throw new IllegalArgumentException(name + " must not be negative: " + v);
        }
        int rc = WsdxNative.wsdx_set_option(handle, opt, v);
        if (rc < 0) throw WsdxException.of(rc, "setOption " + name);
    }

    static <T> T get(long handle, SocketOption<T> name) throws IOException {
        int rc = WsdxNative.wsdx_get_option(handle, number(name));
        if (rc < 0) throw WsdxException.of(rc, "getOption " + name);
        Object v = name.type() == Boolean.class ? (Object) (rc != 0) : (Object) rc;
        return name.type().cast(v);
    }

    /** The local ({@code peer} false) or remote address. */
    static InetSocketAddress address(long handle, boolean peer) throws IOException {
        byte[] buf = new byte[64];
        int port = WsdxNative.wsdx_address(handle, peer ? 1 : 0, buf, buf.length);
        if (port < 0) throw WsdxException.of(port, peer ? "remoteAddress" : "localAddress");
        int len = 0;
        while (len < buf.length && buf[len] != 0) len++;
        // numeric text from the library: no name lookup happens here
        return new InetSocketAddress(InetAddress.getByName(new String(buf, 0, len, StandardCharsets.US_ASCII)), port);
    }

    private static int number(SocketOption<?> name) {
        Integer n = NATIVE.get(Objects.requireNonNull(name, "name"));
        if (n == null) throw new UnsupportedOperationException("'" + name + "' not supported");
        return n;
    }
}
