package dev.wsdx;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Puts the wsdx layered service provider into the Winsock catalogs, lists it, and takes it out again, for
 * services that install themselves. Windows only; {@code install}, {@code remove} and {@code repair} need an
 * elevated administrator ({@link AccessDeniedException} otherwise, before anything is changed).
 *
 * <p>Every process on the machine loads the DLL the catalog names, so {@link #install()} first makes
 * {@link #directory()} writable by administrators only (a protected DACL: Administrators and SYSTEM full
 * control, Users read), then copies the provider there under a name that carries its content hash
 * ({@code wsdx-lsp-<hash>.dll}, and {@code x86\wsdx-lsp-<hash>.dll} with {@code x86\wsdx-install.exe} for the
 * 32-bit catalog), and runs {@code wsdx-install.exe install} on that copy. A loaded DLL cannot be replaced, so an
 * upgrade never overwrites one: the new file sits next to the old, the catalog is switched to it in place, and
 * older copies are deleted once no process holds them (each later install tries again).
 *
 * <p>The tool is never stopped: if it does not answer in time, this throws and the tool finishes on its own;
 * a half-written catalog would be worse than a late answer.
 *
 * <p>Command line, with JNA, jna-platform and slf4j-api on the class path beside the jar:
 * {@code java -cp "wsdx-java-api.jar;jna.jar;jna-platform.jar;slf4j-api.jar" dev.wsdx.ProviderInstaller
 * install|remove|list|repair [directory]}.
 */
public final class ProviderInstaller {
    /** Where {@link #ProviderInstaller()} puts the provider: {@code %ProgramFiles%\wsdx}. */
    public static final Path DEFAULT_DIRECTORY =
            Path.of(Objects.requireNonNullElse(System.getenv("ProgramFiles"), "C:\\Program Files"), "wsdx");

    static final String TOOL = "wsdx-install.exe";
    static final String DLL = "wsdx.dll";
    static final String PROVIDER_DLL = "wsdx-lsp.dll";
    static final String X64 = "win32-x86-64";
    static final String X86 = "win32-x86";
    /** wsdx-install's exit codes for "not an elevated administrator" and "folder others can write". */
    static final int EXIT_NOT_ADMIN = 3, EXIT_UNSAFE_DIR = 5;
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    private final Path directory;
    private final boolean chains;

    /** An installer for {@link #DEFAULT_DIRECTORY}. */
    public ProviderInstaller() {
        this(DEFAULT_DIRECTORY);
    }

    /**
     * An installer that keeps the provider in {@code directory}.
     *
     * @param directory where the provider's files are kept; it must outlive the process
     */
    public ProviderInstaller(Path directory) {
        this(directory, false);
    }

    private ProviderInstaller(Path directory, boolean chains) {
        this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath();
        this.chains = chains;
    }

    /**
     * An installer that also installs (or, with {@code false}, leaves out) the transparent chains: entries
     * over the system TCP entries through which every TCP socket on the machine passes. They only observe, so
     * they are off by default.
     *
     * @param on whether {@link #install()} and {@link #repair()} also install the transparent chains
     * @return an installer for the same directory with that choice
     */
    public ProviderInstaller withTransparentChains(boolean on) {
        return new ProviderInstaller(directory, on);
    }

    /**
     * Where the provider DLLs and the tool are kept.
     *
     * @return the directory
     */
    public Path directory() {
        return directory;
    }

    /**
     * Protects {@link #directory()}, copies the provider there and installs it; installs again (or switches
     * the catalog to a new DLL in place) only where the catalog differs.
     *
     * @return what the tool printed
     * @throws UnsupportedOperationException off Windows
     * @throws AccessDeniedException without an elevated administrator, or if the directory stays writable by others
     * @throws FileNotFoundException if this jar carries no Windows provider
     * @throws ProviderInstallException if the tool fails
     */
    public String install() throws IOException {
        return installVerb("install");
    }

    /**
     * Removes every wsdx entry and installs again: a catalog left half-done by a crash is put right.
     *
     * @return what the tool printed
     * @throws IOException as {@link #install()}
     */
    public String repair() throws IOException {
        return installVerb("repair");
    }

    /**
     * Takes every wsdx entry out of both catalogs; LSPs layered over wsdx are re-chained without it. The
     * DLLs stay in {@link #directory()}.
     *
     * @return what the tool printed
     * @throws IOException as {@link #install()}
     */
    public String remove() throws IOException {
        requireWindows();
        requireAdministrator(isElevated());
        // the jar's own copy, never the folder's: an elevated run must not start a program that the folder
        // (unchecked here, and perhaps never protected) may hold in place of ours
        return withTempTool(t -> run(t, List.of("remove"), "remove"));
    }

    /**
     * The catalog entries and chains, as the tool lists them (no administrator rights needed).
     *
     * @return what the tool printed
     * @throws IOException as {@link #install()}
     */
    public String list() throws IOException {
        requireWindows();
        return withTempTool(t -> run(t, List.of("list"), "list")); // the jar's tool, as for remove()
    }

    private interface ToolRun {
        String apply(Path tool) throws IOException;
    }

    /** Runs the jar's tool from a private temporary directory. */
    private static String withTempTool(ToolRun fn) throws IOException {
        Path tmp = Files.createTempDirectory("wsdx-install");
        try {
            Path tool = tmp.resolve(TOOL);
            copyIfPresent(resource(X64, TOOL), tool, true);
            return fn.apply(tool);
        } finally {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp)) {
                for (Path p : ds) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(tmp);
        }
    }

    private String installVerb(String verb) throws IOException {
        requireWindows();
        requireAdministrator(isElevated());
        protect();
        List<String> args = new ArrayList<>(List.of(verb));
        if (chains) args.add("--chains");
        Path dll = place(directory, resource(X64, PROVIDER_DLL), resource(X64, DLL), true);
        args.add(dll.toString());
        Path x86 = directory.resolve("x86");
        Path dll32 = null;
        if (copyIfPresent(resource(X86, TOOL), x86.resolve(TOOL))) {
            dll32 = place(x86, resource(X86, PROVIDER_DLL), resource(X86, DLL), false);
            if (dll32 != null) args.add(dll32.toString());
        }
        String out = run(tool(directory), args, verb);
        removeOldVersions(directory, dll.getFileName().toString());
        if (dll32 != null) removeOldVersions(x86, dll32.getFileName().toString());
        return out;
    }

    /** The directory, created if missing, writable by administrators only; the tool copied in after. */
    private void protect() throws IOException {
        Files.createDirectories(directory.getParent());
        withTempTool(t -> run(t, List.of("protect", directory.toString()), "protect"));
        copyIfPresent(resource(X64, TOOL), tool(directory), true);
    }

    static Path tool(Path dir) {
        return dir.resolve(TOOL);
    }

    /** The command line for a verb (the tool in {@link #directory()}). */
    List<String> command(String verb, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(tool(directory).toString());
        cmd.add(verb);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Resource name in the jar of a file for an architecture folder. */
    static String resource(String arch, String file) {
        return arch + "/" + file;
    }

    /** {@code stem-<first 12 hex digits of SHA-256>.dll}: a new build never overwrites a loaded one. */
    static String versionedName(String stem, byte[] content) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(content);
            return stem + "-" + HexFormat.of().formatHex(h, 0, 6) + ".dll";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    /**
     * Writes the provider (the provider-only DLL, or the full wsdx.dll from an older jar) into dir under its
     * versioned name, unless that very content is already there.
     */
    private static Path place(Path dir, String preferred, String fallback, boolean required) throws IOException {
        byte[] b = read(preferred);
        String stem = "wsdx-lsp";
        if (b == null) {
            b = read(fallback);
            stem = "wsdx";
        }
        if (b == null) {
            if (required) throw new FileNotFoundException("this jar carries no " + preferred + " or " + fallback);
            return null;
        }
        return placeBytes(dir.resolve(versionedName(stem, b)), b);
    }

    /**
     * Writes b to {@code to} unless the file there already holds exactly b. The name alone proves nothing:
     * the versioned names are public, so a user could have planted a file of that name (and size) in the
     * folder before an administrator protected it, and every process would then load it.
     */
    static Path placeBytes(Path to, byte[] b) throws IOException {
        if (!holds(to, b)) write(b, to);
        return to;
    }

    private static boolean holds(Path p, byte[] b) throws IOException {
        return Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) && Files.size(p) == b.length
                && java.util.Arrays.equals(Files.readAllBytes(p), b);
    }

    private static boolean copyIfPresent(String name, Path to) throws IOException {
        return copyIfPresent(name, to, false);
    }

    private static boolean copyIfPresent(String name, Path to, boolean required) throws IOException {
        byte[] b = read(name);
        if (b == null) {
            if (required) throw new FileNotFoundException("this jar carries no " + name);
            return false;
        }
        Files.createDirectories(to.getParent());
        write(b, to);
        return true;
    }

    private static byte[] read(String name) throws IOException {
        try (InputStream in = ProviderInstaller.class.getClassLoader().getResourceAsStream(name)) {
            return in == null ? null : in.readAllBytes();
        }
    }

    private static void write(byte[] b, Path to) throws IOException {
        Path tmp = Files.createTempFile(to.getParent(), to.getFileName().toString(), ".part");
        try {
            Files.write(tmp, b);
            Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Deletes the provider DLLs in dir other than {@code keep}; one that a process still has loaded cannot be
     * deleted and stays for a later run. The names deleted.
     */
    static List<String> removeOldVersions(Path dir, String keep) {
        List<String> gone = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "wsdx-*.dll")) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.equals(keep) || !n.matches("wsdx(-lsp)?-[0-9a-f]{12}\\.dll")) continue;
                try {
                    Files.delete(p);
                    gone.add(n);
                } catch (IOException stillLoaded) {
                    // in use: next time
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // nothing to clean up
        }
        return gone;
    }

    /** Runs the tool; its output, or the failure it reports. */
    private static String run(Path tool, List<String> args, String verb) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(tool.toString());
        cmd.addAll(args);
        Result r = exec(cmd, TIMEOUT);
        if (r.exit != 0) throw failure(verb, r.exit, r.output);
        return r.output;
    }

    static final class Result {
        final int exit;
        final String output;

        Result(int exit, String output) {
            this.exit = exit;
            this.output = output;
        }
    }

    /**
     * Starts cmd and waits up to timeout. The output is read on its own thread, so the wait is bounded by the
     * timeout, not by the pipe; on timeout or interrupt the process is left running (it may be writing the
     * catalog), and this throws.
     */
    static Result exec(List<String> cmd, Duration timeout) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(out);
            } catch (IOException e) {
                // the process ended: nothing more to read
            }
        }, "wsdx-install output");
        reader.setDaemon(true);
        reader.start();
        String verb = cmd.size() > 1 ? cmd.get(1) : cmd.get(0);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new ProviderInstallException(verb, -1, "no answer in " + timeout.toSeconds()
                        + " s; the tool was left running so that it finishes its catalog writes;"
                        + " check with `wsdx-install list`, then `repair`");
            }
            reader.join(timeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(verb + " interrupted; the tool was left running to finish");
        }
        synchronized (out) {
            return new Result(p.exitValue(), out.toString(Charset.defaultCharset()));
        }
    }

    /** The exception for a failed run: access problems as {@link AccessDeniedException}. */
    static IOException failure(String verb, int exit, String output) {
        if (exit == EXIT_NOT_ADMIN || exit == EXIT_UNSAFE_DIR)
            return new AccessDeniedException(verb, null, output.strip());
        return new ProviderInstallException(verb, exit, output);
    }

    static void requireAdministrator(boolean elevated) throws AccessDeniedException {
        if (!elevated)
            throw new AccessDeniedException("Winsock catalog", null,
                    "needs an elevated administrator (Run as administrator); nothing was changed");
    }

    private static boolean isElevated() {
        return com.sun.jna.platform.win32.Advapi32Util.isCurrentProcessElevated();
    }

    private static void requireWindows() {
        if (!isWindows())
            throw new UnsupportedOperationException("the Winsock catalog exists only on Windows");
    }

    static boolean isWindows() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
    }

    /**
     * {@code install | remove | list | repair [directory] [--chains]}; exits 0 on success, 1 on failure, 2 on
     * bad arguments, 3 without administrator rights.
     *
     * @param args the verb, an optional directory and {@code --chains}
     */
    public static void main(String[] args) {
        System.exit(cli(args, System.out, System.err));
    }

    /** {@link #main}'s work: the exit code, with the tool's output on {@code out} and failures on {@code err}. */
    static int cli(String[] args, PrintStream out, PrintStream err) {
        List<String> a = new ArrayList<>(List.of(args));
        boolean chains = a.remove("--chains");
        if (a.size() < 1 || a.size() > 2 || !List.of("install", "remove", "list", "repair").contains(a.get(0))) {
            err.println("usage: ProviderInstaller install|remove|list|repair [directory] [--chains]");
            return 2;
        }
        ProviderInstaller pi = (a.size() == 2 ? new ProviderInstaller(Path.of(a.get(1))) : new ProviderInstaller())
                .withTransparentChains(chains);
        try {
            String text;
            switch (a.get(0)) {
                case "install": text = pi.install(); break;
                case "remove": text = pi.remove(); break;
                case "repair": text = pi.repair(); break;
                default: text = pi.list(); break;
            }
            out.print(text);
            return 0;
        } catch (AccessDeniedException e) {
            err.println(a.get(0) + " failed: " + e.getMessage());
            return EXIT_NOT_ADMIN;
        } catch (IOException | UnsupportedOperationException e) {
            err.println(a.get(0) + " failed: " + e.getMessage());
            return 1;
        }
    }
}
