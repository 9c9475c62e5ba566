package io.jmigrate.engine.check;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the kernel offers for dirty-page tracking, as probed, and the pure choice of backends it allows. uffd-wp
 * async needs PAGEMAP_SCAN too (the ioctl is how its written pages are read and re-protected in one walk); without
 * either, soft-dirty if the kernel has it; else full copies, with a warning.
 *
 * <p>{@value #PROBE_ENV} overrides probed facts, for tests of the fallbacks on a kernel that has everything:
 * {@code "pagemap-scan=no"} or {@code "uffd-wp-async=yes,pagemap-scan=no,soft-dirty=no"}; facts it does not name
 * are probed. It affects pre-dump's choice only, not {@code jmigrate check}, which reports the kernel as it is.
 */
public record TrackingCapabilities(boolean uffdWpAsync, boolean pagemapScan, boolean softDirty) {
    public static final String PROBE_ENV = "JMIGRATE_DIRTY_TRACKING_PROBE";

    /** Probes this kernel (a few ms: a userfaultfd and small mappings of our own), then applies {@value #PROBE_ENV}. */
    public static TrackingCapabilities probe() {
        Map<String, Boolean> overrides = parseOverrides(System.getenv(PROBE_ENV));
        return new TrackingCapabilities(
                overrides.containsKey(KernelFeatures.UFFD_WP_ASYNC) ? overrides.get(KernelFeatures.UFFD_WP_ASYNC) : probed(Probes::uffdWpAsync),
                overrides.containsKey(KernelFeatures.PAGEMAP_SCAN) ? overrides.get(KernelFeatures.PAGEMAP_SCAN) : probed(Probes::pagemapScan),
                overrides.containsKey(KernelFeatures.SOFT_DIRTY) ? overrides.get(KernelFeatures.SOFT_DIRTY) : probed(Probes::softDirty));
    }

    private static boolean probed(java.util.concurrent.Callable<Feature> probe) {
        try {
            return probe.call().available();
        } catch (Exception e) {
            return false;
        }
    }

    /** {@value #PROBE_ENV}'s value as facts; null or blank: none. A malformed value is a one-line error. */
    static Map<String, Boolean> parseOverrides(String spec) {
        Map<String, Boolean> out = new LinkedHashMap<>();
        if (spec == null || spec.isBlank()) return out;
        List<String> names = List.of(KernelFeatures.UFFD_WP_ASYNC, KernelFeatures.PAGEMAP_SCAN, KernelFeatures.SOFT_DIRTY);
        for (String item : spec.split(",", -1)) {
            String[] kv = item.trim().split("=", 2);
            if (kv.length != 2 || !names.contains(kv[0].trim()) || !List.of("yes", "no").contains(kv[1].trim()))
                throw new IllegalArgumentException(PROBE_ENV + "=" + spec + ": expected items like pagemap-scan=no,"
                        + " names " + String.join(", ", names) + ", values yes or no");
            out.put(kv[0].trim(), kv[1].trim().equals("yes"));
        }
        return out;
    }

    /** Why {@code backend} cannot be used with these facts, or null if it can. */
    public String missing(DirtyTracking backend) {
        return switch (backend) {
            case UFFD_WP_ASYNC -> !uffdWpAsync ? "uffd-wp-async needs userfaultfd WP_ASYNC + WP_UNPOPULATED (Linux 6.7+), which this kernel lacks"
                    : !pagemapScan ? "uffd-wp-async needs the PAGEMAP_SCAN ioctl (Linux 6.7+), which this kernel lacks" : null;
            case SOFT_DIRTY -> softDirty ? null : "soft-dirty tracking is not available on this kernel (CONFIG_MEM_SOFT_DIRTY unset?)";
            case FULL_COPY -> null;
        };
    }

    /**
     * The backends to try, best first: with {@code forced} null every usable one down to full-copy (a backend may
     * still fail for one process, e.g. one that uses userfaultfd itself, and the next is tried); with a forced
     * backend, only it, or nothing if these facts rule it out.
     */
    public List<DirtyTracking> candidates(DirtyTracking forced) {
        List<DirtyTracking> out = new ArrayList<>();
        for (DirtyTracking t : DirtyTracking.values())
            if ((forced == null || forced == t) && missing(t) == null) out.add(t);
        return out;
    }

    /** The best backend these facts allow. */
    public DirtyTracking best() { return candidates(null).getFirst(); }

    /** Why the backends better than {@code chosen} were passed over, "; "-joined ("" if none). */
    public String whyNotBetterThan(DirtyTracking chosen) {
        List<String> why = new ArrayList<>();
        for (DirtyTracking t : DirtyTracking.values()) {
            if (t.ordinal() >= chosen.ordinal()) break;
            if (missing(t) != null) why.add(missing(t));
        }
        return String.join("; ", why);
    }
}
