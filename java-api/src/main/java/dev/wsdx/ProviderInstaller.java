package dev.wsdx;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Puts the wsdx layered service provider into the Winsock catalog, lists it, and takes it out again, for
 * services that install themselves. Windows only; {@code install}, {@code remove} and {@code repair} need
 * administrator rights.
 *
 * <p>The jar carries {@code win32-x86-64/wsdx.dll}, {@code win32-x86-64/wsdx-install.exe} and
 * {@code win32-x86/wsdx.dll}. The catalog keeps the provider DLL's path, so {@link #install()} first copies
 * them into {@link #directory()}, a directory that must outlive the process ({@code x86\wsdx.dll} there goes
 * into the 32-bit catalog), then runs {@code wsdx-install.exe install} on the copy. Both catalogs end up as
 * they were after {@link #remove()}.
 *
 * <p>Command line: {@code java -cp wsdx-java-api.jar dev.wsdx.ProviderInstaller install|remove|list|repair
 * [directory]}.
 */
public final class ProviderInstaller {
    /** Where {@link #ProviderInstaller()} puts the provider: {@code %ProgramFiles%\wsdx}. */
    public static final Path DEFAULT_DIRECTORY =
            Path.of(Objects.requireNonNullElse(System.getenv("ProgramFiles"), "C:\\Program Files"), "wsdx");

    static final String TOOL = "wsdx-install.exe";
    static final String DLL = "wsdx.dll";
    private static final long TIMEOUT_SECONDS = 120;

    private final Path directory;

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
        this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath();
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
     * Copies the provider into {@link #directory()} and installs it (idempotent).
     *
     * @return what the tool printed
     * @throws UnsupportedOperationException off Windows
     * @throws FileNotFoundException if this jar carries no Windows provider
     * @throws ProviderInstallException if the tool fails (for example without administrator rights)
     */
    public String install() throws IOException {
        requireWindows();
        unpack();
        return run("install", directory.resolve(DLL).toString());
    }

    /**
     * Takes every wsdx entry out of both catalogs; the DLLs stay in {@link #directory()}.
     *
     * @return what the tool printed
     * @throws IOException as {@link #install()}
     */
    public String remove() throws IOException {
        requireWindows();
        return run("remove");
    }

    /**
     * The catalog entries and chains, as the tool lists them.
     *
     * @return what the tool printed
     * @throws IOException as {@link #install()}
     */
    public String list() throws IOException {
        requireWindows();
        return run("list");
    }

    /**
     * Removes and installs again, from fresh copies.
     *
     * @return what the tool printed
     * @throws IOException as {@link #install()}
     */
    public String repair() throws IOException {
        requireWindows();
        unpack();
        return run("repair", directory.resolve(DLL).toString());
    }

    /** The command line for a verb (the tool in {@link #directory()}). */
    List<String> command(String verb, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(directory.resolve(TOOL).toString());
        cmd.add(verb);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Resource name in the jar of a file for an architecture folder. */
    static String resource(String arch, String file) {
        return arch + "/" + file;
    }

    private void unpack() throws IOException {
        Files.createDirectories(directory);
        copy(resource("win32-x86-64", TOOL), directory.resolve(TOOL), true);
        copy(resource("win32-x86-64", DLL), directory.resolve(DLL), true);
        Path x86 = directory.resolve("x86");
        Files.createDirectories(x86);
        copy(resource("win32-x86", DLL), x86.resolve(DLL), false);
    }

    private static void copy(String name, Path to, boolean required) throws IOException {
        try (InputStream in = ProviderInstaller.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                if (required) throw new FileNotFoundException("this jar carries no " + name);
                return;
            }
            Path tmp = Files.createTempFile(to.getParent(), to.getFileName().toString(), ".part");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private String run(String verb, String... args) throws IOException {
        List<String> cmd = command(verb, args);
        if (!Files.isRegularFile(Path.of(cmd.get(0)))) unpack();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new ProviderInstallException(verb, -1, "no answer in " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException(verb + " interrupted");
        }
        String text = out.toString(Charset.defaultCharset());
        if (p.exitValue() != 0) throw new ProviderInstallException(verb, p.exitValue(), text);
        return text;
    }

    private static void requireWindows() {
        if (!isWindows())
            throw new UnsupportedOperationException("the Winsock catalog exists only on Windows");
    }

    static boolean isWindows() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
    }

    /**
     * {@code install | remove | list | repair [directory]}; exits 0 on success, 1 on failure, 2 on bad
     * arguments.
     *
     * @param args the verb and an optional directory
     */
    public static void main(String[] args) {
        if (args.length < 1 || args.length > 2 || !List.of("install", "remove", "list", "repair").contains(args[0])) {
            System.err.println("usage: ProviderInstaller install|remove|list|repair [directory]");
            System.exit(2);
            return;
        }
        ProviderInstaller pi = args.length == 2 ? new ProviderInstaller(Path.of(args[1])) : new ProviderInstaller();
        try {
            String out;
            switch (args[0]) {
                case "install": out = pi.install(); break;
                case "remove": out = pi.remove(); break;
                case "repair": out = pi.repair(); break;
                default: out = pi.list(); break;
            }
            System.out.print(out);
        } catch (IOException | UnsupportedOperationException e) {
            System.err.println(args[0] + " failed: " + e.getMessage());
            System.exit(1);
        }
    }
}
