package dev.wsdx;

/** The kind of a socket: byte stream or message-oriented. */
public enum Mode {
    /** Byte stream; a graceful peer close reads as end-of-stream (R1). Native {@code WSDX_STREAM}. */
    STREAM(1),
    /** Message boundaries kept; a graceful peer close fails reads with {@code WSAEDISCON} (R2). Native {@code WSDX_MESSAGE}. */
    MESSAGE(2);

    private final int nativeValue;

    Mode(int nativeValue) {
        this.nativeValue = nativeValue;
    }

    /** The native mode constant. */
    int nativeValue() {
        return nativeValue;
    }
}
