package dev.wsdx;

/**
 * {@code WSAEMFILE}: the process (or the system) has no file descriptors left, so a listener
 * could not accept. Reported by {@link Server#accept()} once per episode; the listener rests and
 * resumes on its own once descriptors free (docs/robustness.md).
 */
public class TooManyOpenFilesException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public TooManyOpenFilesException(String message) {
        super(WsaError.WSAEMFILE, message);
    }
}
