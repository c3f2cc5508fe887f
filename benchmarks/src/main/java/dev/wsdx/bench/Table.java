package dev.wsdx.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleFunction;

/**
 * Per-round samples and the table built from them. Each figure is taken in rounds that interleave
 * wsdx and its baselines (wsdx, baseline, wsdx, baseline, ...); a row shows the median of each side
 * over the rounds, and the median ratio with its min-max (the ratio of the same round's figures).
 * Targets are judged on the median ratio.
 */
final class Table {
    private final Map<String, List<Double>> samples = new HashMap<>();
    private final Map<String, String> notes = new HashMap<>();
    private final List<String[]> rows = new ArrayList<>();

    /** Adds one round's figure under {@code key}. */
    void add(String key, double value) {
        samples.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
    }

    /** Says why {@code key} has no (or fewer) figures, e.g. "stalled (n of N done)"; shown instead of its median. */
    void note(String key, String why) {
        notes.put(key, why);
    }

    List<Double> get(String key) {
        return samples.getOrDefault(key, List.of());
    }

    /** A row comparing {@code wsdxKey} with {@code baseKey} round by round; ratio = wsdx / baseline. */
    void row(String fig, String what, String wsdxKey, String baseName, String baseKey, DoubleFunction<String> fmt,
            String target) {
        List<Double> w = get(wsdxKey);
        List<Double> b = get(baseKey);
        int n = Math.min(w.size(), b.size());
        double[] ratios = new double[n];
        for (int i = 0; i < n; i++) ratios[i] = w.get(i) / b.get(i);
        String ratio = n == 0 ? "-" : String.format("%.2f", median(ratios));
        String range = n == 0 ? "-" : String.format("%.2f-%.2f", min(ratios), max(ratios));
        String met = n == 0 ? "NO" : met(median(ratios), target);
        rows.add(new String[] {fig, what, side(wsdxKey, w, fmt), baseName + ": " + side(baseKey, b, fmt), ratio,
            range, String.valueOf(n), target, met});
    }

    /** A row comparing {@code wsdxKey}'s rounds with a fixed figure (no baseline to measure). */
    void rowFixed(String fig, String what, String wsdxKey, String baseName, double base, DoubleFunction<String> fmt,
            String target) {
        List<Double> w = get(wsdxKey);
        double[] ratios = w.stream().mapToDouble(v -> v / base).toArray();
        String ratio = ratios.length == 0 ? "-" : String.format("%.2f", median(ratios));
        String range = ratios.length == 0 ? "-" : String.format("%.2f-%.2f", min(ratios), max(ratios));
        rows.add(new String[] {fig, what, side(wsdxKey, w, fmt), baseName + ": " + fmt.apply(base), ratio, range,
            String.valueOf(ratios.length), target, ratios.length == 0 ? "NO" : met(median(ratios), target)});
    }

    private String side(String key, List<Double> v, DoubleFunction<String> fmt) {
        String note = notes.get(key);
        if (v.isEmpty()) return note != null ? note : "-";
        String m = fmt.apply(median(v.stream().mapToDouble(Double::doubleValue).toArray()));
        return note != null ? m + " (" + note + ")" : m;
    }

    private static String met(double ratio, String target) {
        if (target.startsWith("<=")) return ratio <= Double.parseDouble(target.substring(3)) ? "yes" : "NO";
        if (target.startsWith(">=")) return ratio >= Double.parseDouble(target.substring(3)) ? "yes" : "NO";
        return "-";
    }

    void print() {
        System.out.println("| # | figure | wsdx, median | baseline, median | ratio, median | ratio, min-max | rounds"
                + " | target | met |");
        System.out.println("|---|--------|------|----------|-------|-------|--------|--------|-----|");
        for (String[] r : rows) System.out.println("| " + String.join(" | ", r) + " |");
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    static String us(double ns) {
        return String.format("%.1f µs", ns / 1000.0);
    }

    static String ns(double ns) {
        return String.format("%.0f ns", ns);
    }

    static String perS(double v) {
        return String.format("%.0f /s", v);
    }

    static String mibs(double bytesPerSecond) {
        return String.format("%.0f MiB/s", bytesPerSecond / (1 << 20));
    }

    static String bytes(double b) {
        return String.format("%.0f B", b);
    }
}
