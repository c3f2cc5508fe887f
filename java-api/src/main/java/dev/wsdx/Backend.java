package dev.wsdx;

import java.util.Locale;

/**
 * Where the wsdx protocol runs for the sockets a process opens. Both backends speak the same wire
 * protocol, so either end of a connection may use either one.
 *
 * <p>The default is {@link #AUTO}; the system property {@value #PROPERTY} ({@code auto}, {@code installed}
 * or {@code in-process}) changes it for the whole process, and {@link Wsdx#useBackend(Backend)} changes it
 * for sockets opened afterwards.
 */
public enum Backend {
    /** The installed provider when its catalog entries are present, else {@link #IN_PROCESS}. */
    AUTO(0),
    /** In this process, over the operating system's TCP: needs no installation or administrator rights. */
    IN_PROCESS(1),
    /**
     * Windows only: the calls go through Winsock to the wsdx catalog entries of the installed layered
     * service provider, which ws2_32 loads into this process (see {@link ProviderInstaller}).
     */
    INSTALLED(2);

    /** System property choosing the backend: {@code auto}, {@code installed} or {@code in-process}. */
    public static final String PROPERTY = "wsdx.backend";

    private final int nativeValue;

    Backend(int nativeValue) {
        this.nativeValue = nativeValue;
    }

    int nativeValue() {
        return nativeValue;
    }

    static Backend ofNative(int v) {
        for (Backend b : values()) if (b.nativeValue == v) return b;
        throw new IllegalArgumentException("no backend " + v);
    }

    /**
     * Parses a {@value #PROPERTY} value: {@code auto}, {@code installed} or {@code in-process} (case and
     * {@code _}/{@code -} do not matter).
     *
     * @param value the property's value
     * @return the backend
     * @throws IllegalArgumentException for anything else, naming the accepted values
     */
    public static Backend parse(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        switch (v) {
            case "auto": return AUTO;
            case "installed": return INSTALLED;
            case "in-process": case "inprocess": return IN_PROCESS;
            default:
                throw new IllegalArgumentException(
                        PROPERTY + "=" + value + ": expected auto, installed or in-process");
        }
    }
}
