package dev.wsdx;

import java.io.IOException;

/** {@code wsdx-install.exe} failed; {@link #getMessage()} carries what it printed. */
public class ProviderInstallException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The tool's exit code. */
    private final int exitCode;

    /**
     * A failed run of the tool.
     *
     * @param verb install, remove, list or repair
     * @param exitCode the tool's exit code ({@code -1}: it did not finish)
     * @param output what the tool printed
     */
    public ProviderInstallException(String verb, int exitCode, String output) {
        super("wsdx-install " + verb + " failed (exit " + exitCode + "): " + output.strip());
        this.exitCode = exitCode;
    }

    /**
     * The tool's exit code.
     *
     * @return the code, {@code -1} if it did not finish
     */
    public int exitCode() {
        return exitCode;
    }
}
