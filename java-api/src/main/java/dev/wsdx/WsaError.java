package dev.wsdx;

import java.util.HashMap;
import java.util.Map;

/** The WSA error codes wsdx reports, with the values of {@code winsock2.h}, and their names. */
public final class WsaError {
    private WsaError() {}

    /** {@code WSAEINTR} (10004). */
    public static final int WSAEINTR = 10004;
    /** {@code WSAEFAULT} (10014). */
    public static final int WSAEFAULT = 10014;
    /** {@code WSAEINVAL} (10022). */
    public static final int WSAEINVAL = 10022;
    /** {@code WSAEMFILE} (10024). */
    public static final int WSAEMFILE = 10024;
    /** {@code WSAEWOULDBLOCK} (10035). */
    public static final int WSAEWOULDBLOCK = 10035;
    /** {@code WSAEINPROGRESS} (10036). */
    public static final int WSAEINPROGRESS = 10036;
    /** {@code WSAEALREADY} (10037): a non-blocking connect is in progress. */
    public static final int WSAEALREADY = 10037;
    /** {@code WSAENOTSOCK} (10038). */
    public static final int WSAENOTSOCK = 10038;
    /** {@code WSAEMSGSIZE} (10040). */
    public static final int WSAEMSGSIZE = 10040;
    /** {@code WSAEPROTOTYPE} (10041). */
    public static final int WSAEPROTOTYPE = 10041;
    /** {@code WSAENOPROTOOPT} (10042). */
    public static final int WSAENOPROTOOPT = 10042;
    /** {@code WSAEPROTONOSUPPORT} (10043). */
    public static final int WSAEPROTONOSUPPORT = 10043;
    /** {@code WSAEOPNOTSUPP} (10045). */
    public static final int WSAEOPNOTSUPP = 10045;
    /** {@code WSAEADDRINUSE} (10048). */
    public static final int WSAEADDRINUSE = 10048;
    /** {@code WSAEADDRNOTAVAIL} (10049). */
    public static final int WSAEADDRNOTAVAIL = 10049;
    /** {@code WSAENETDOWN} (10050). */
    public static final int WSAENETDOWN = 10050;
    /** {@code WSAENETUNREACH} (10051). */
    public static final int WSAENETUNREACH = 10051;
    /** {@code WSAECONNABORTED} (10053). */
    public static final int WSAECONNABORTED = 10053;
    /** {@code WSAECONNRESET} (10054). */
    public static final int WSAECONNRESET = 10054;
    /** {@code WSAENOBUFS} (10055). */
    public static final int WSAENOBUFS = 10055;
    /** {@code WSAEISCONN} (10056). */
    public static final int WSAEISCONN = 10056;
    /** {@code WSAENOTCONN} (10057). */
    public static final int WSAENOTCONN = 10057;
    /** {@code WSAESHUTDOWN} (10058). */
    public static final int WSAESHUTDOWN = 10058;
    /** {@code WSAETIMEDOUT} (10060). */
    public static final int WSAETIMEDOUT = 10060;
    /** {@code WSAECONNREFUSED} (10061). */
    public static final int WSAECONNREFUSED = 10061;
    /** {@code WSAEHOSTUNREACH} (10065). */
    public static final int WSAEHOSTUNREACH = 10065;
    /** {@code WSAVERNOTSUPPORTED} (10092). */
    public static final int WSAVERNOTSUPPORTED = 10092;
    /** {@code WSAEDISCON} (10101). */
    public static final int WSAEDISCON = 10101;

    private static final Map<Integer, String> NAMES = new HashMap<>();

    static {
        NAMES.put(WSAEINTR, "WSAEINTR");
        NAMES.put(WSAEFAULT, "WSAEFAULT");
        NAMES.put(WSAEINVAL, "WSAEINVAL");
        NAMES.put(WSAEMFILE, "WSAEMFILE");
        NAMES.put(WSAEWOULDBLOCK, "WSAEWOULDBLOCK");
        NAMES.put(WSAEINPROGRESS, "WSAEINPROGRESS");
        NAMES.put(WSAEALREADY, "WSAEALREADY");
        NAMES.put(WSAENOTSOCK, "WSAENOTSOCK");
        NAMES.put(WSAEMSGSIZE, "WSAEMSGSIZE");
        NAMES.put(WSAEPROTOTYPE, "WSAEPROTOTYPE");
        NAMES.put(WSAENOPROTOOPT, "WSAENOPROTOOPT");
        NAMES.put(WSAEPROTONOSUPPORT, "WSAEPROTONOSUPPORT");
        NAMES.put(WSAEOPNOTSUPP, "WSAEOPNOTSUPP");
        NAMES.put(WSAEADDRINUSE, "WSAEADDRINUSE");
        NAMES.put(WSAEADDRNOTAVAIL, "WSAEADDRNOTAVAIL");
        NAMES.put(WSAENETDOWN, "WSAENETDOWN");
        NAMES.put(WSAENETUNREACH, "WSAENETUNREACH");
        NAMES.put(WSAECONNABORTED, "WSAECONNABORTED");
        NAMES.put(WSAECONNRESET, "WSAECONNRESET");
        NAMES.put(WSAENOBUFS, "WSAENOBUFS");
        NAMES.put(WSAEISCONN, "WSAEISCONN");
        NAMES.put(WSAENOTCONN, "WSAENOTCONN");
        NAMES.put(WSAESHUTDOWN, "WSAESHUTDOWN");
        NAMES.put(WSAETIMEDOUT, "WSAETIMEDOUT");
        NAMES.put(WSAECONNREFUSED, "WSAECONNREFUSED");
        NAMES.put(WSAEHOSTUNREACH, "WSAEHOSTUNREACH");
        NAMES.put(WSAVERNOTSUPPORTED, "WSAVERNOTSUPPORTED");
        NAMES.put(WSAEDISCON, "WSAEDISCON");
    }

    /** Every code named here. */
    static java.util.Set<Integer> codes() {
        return java.util.Collections.unmodifiableSet(NAMES.keySet());
    }

    /**
     * The name of a WSA code, e.g. {@code "WSAECONNRESET"}; {@code "WSA?"} when unknown (as the native
     * {@code wsdx_error_name}). A negative code (as native calls return) is named like its absolute value.
     *
     * @param code the WSA code
     * @return its name
     */
    public static String name(int code) {
        String n = NAMES.get(code < 0 && code != Integer.MIN_VALUE ? -code : code);
        return n != null ? n : "WSA?";
    }
}
