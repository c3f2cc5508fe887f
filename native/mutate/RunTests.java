// RunTests.java - runs JUnit 5 tests by package or class name, minus excluded class-name patterns
// (java -cp ... RunTests.java dev.wsdx.it '.*SoakTest|.*LeakTest')
// for native/mutate/mutate.py; exit status 1 when any test failed. Single-file source launch.
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;
import static org.junit.platform.engine.discovery.ClassNameFilter.excludeClassNamePatterns;

import java.io.PrintWriter;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

public class RunTests {
    public static void main(String[] args) {
        String what = args.length > 0 ? args[0] : "dev.wsdx.it";
        boolean isClass = !what.isEmpty() && Character.isUpperCase(what.charAt(what.lastIndexOf('.') + 1));
        LauncherDiscoveryRequestBuilder b = LauncherDiscoveryRequestBuilder.request();
        b.selectors(isClass ? selectClass(what) : selectPackage(what));
        if (args.length > 1 && !args[1].isEmpty()) b.filters(excludeClassNamePatterns(args[1]));
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        launcher.execute(b.build(), summary);
        TestExecutionSummary s = summary.getSummary();
        s.printFailuresTo(new PrintWriter(System.out), 5);
        System.out.printf("%d tests, %d failed%n", s.getTestsFoundCount(), s.getTotalFailureCount());
        System.exit(s.getTotalFailureCount() == 0 && s.getTestsFoundCount() > 0 ? 0 : 1);
    }
}
