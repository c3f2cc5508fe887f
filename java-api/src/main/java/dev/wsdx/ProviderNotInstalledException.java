package dev.wsdx;

/**
 * {@link Backend#INSTALLED} was asked for, but no wsdx layered service provider is installed in this
 * process's Winsock catalog (always so off Windows), or its DLL does not start (the message gives that
 * error). Code {@code WSAEPROTONOSUPPORT}. A failure is not kept: a later call looks at the catalog again.
 */
public class ProviderNotInstalledException extends WsdxException {
    private static final long serialVersionUID = 1L;

    /** @param message the detail message */
    public ProviderNotInstalledException(String message) {
        super(WsaError.WSAEPROTONOSUPPORT, message);
    }
}
