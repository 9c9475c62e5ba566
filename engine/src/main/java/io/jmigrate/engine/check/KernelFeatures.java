package io.jmigrate.engine.check;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * What this kernel, as we run on it, lets jmigrate do — like {@code criu check}. Every facility is tried for real
 * (a traced child, a write-protected mapping of our own, ...) rather than inferred from the version, and each probe
 * is isolated: one that fails or throws becomes an unavailable feature, never a missing report.
 */
public final class KernelFeatures {
    public static final String KERNEL = "kernel", PTRACE = "ptrace-seize", PROCESS_VM_READV = "process_vm_readv",
            PIDFD_OPEN = "pidfd_open", PIDFD_GETFD = "pidfd_getfd", CLONE3 = "clone3", CLONE3_SET_TID = "clone3-set_tid",
            USERFAULTFD = "userfaultfd", UFFD_WP_ASYNC = "uffd-wp-async", PAGEMAP_SCAN = "pagemap-scan",
            SOFT_DIRTY = "soft-dirty", TIME_NS = "time-namespace", PR_SET_MM_MAP = "prctl-mm-map",
            CAP_SYS_RESOURCE = "cap-sys-resource", THP = "transparent-hugepages";

    /** A named probe; {@code body} returns the features it measured (usually one). */
    public record Probe(String name, Callable<List<Feature>> body) {
        public static Probe of(String name, Callable<Feature> single) {
            return new Probe(name, () -> List.of(single.call()));
        }
    }

    private final List<Feature> features;

    private KernelFeatures(List<Feature> features) {
        this.features = List.copyOf(features);
    }

    /** All standard probes, in report order. */
    public static List<Probe> standardProbes() {
        return List.of(
                Probe.of(KERNEL, Probes::kernel),
                Probe.of(PTRACE, Probes::ptrace),
                Probe.of(PROCESS_VM_READV, Probes::processVmReadv),
                new Probe(PIDFD_OPEN + "+" + PIDFD_GETFD, Probes::pidfd),
                Probe.of(CLONE3, Probes::clone3),
                Probe.of(CLONE3_SET_TID, Probes::clone3SetTid),
                Probe.of(USERFAULTFD, Probes::userfaultfd),
                Probe.of(UFFD_WP_ASYNC, Probes::uffdWpAsync),
                Probe.of(PAGEMAP_SCAN, Probes::pagemapScan),
                Probe.of(SOFT_DIRTY, Probes::softDirty),
                Probe.of(TIME_NS, Probes::timeNamespace),
                Probe.of(PR_SET_MM_MAP, Probes::prSetMmMap),
                Probe.of(CAP_SYS_RESOURCE, Probes::capSysResource),
                Probe.of(THP, Probes::transparentHugepages));
    }

    /** Runs every standard probe on this machine. */
    public static KernelFeatures probe() {
        return run(standardProbes());
    }

    /** Runs {@code probes} in order; a probe that throws yields one unavailable feature under its name. */
    public static KernelFeatures run(List<Probe> probes) {
        List<Feature> out = new ArrayList<>();
        for (Probe probe : probes) {
            try {
                List<Feature> measured = probe.body().call();
                if (measured == null || measured.isEmpty()) {
                    out.add(Feature.no(probe.name(), "probe reported nothing"));
                } else {
                    out.addAll(measured);
                }
            } catch (VirtualMachineError e) {
                throw e;
            } catch (Throwable t) {
                out.add(Feature.no(probe.name(), "probe failed: " + describe(t)));
            }
        }
        return new KernelFeatures(out);
    }

    public List<Feature> features() { return features; }

    public Optional<Feature> feature(String name) {
        return features.stream().filter(f -> f.name().equals(name)).findFirst();
    }

    /** True if the feature was probed and found available. */
    public boolean available(String name) {
        return feature(name).map(Feature::available).orElse(false);
    }

    /** The dirty-tracking backend these facts select: uffd-wp-async, soft-dirty or full-copy. */
    public DirtyTracking dirtyTracking() {
        return DirtyTracking.choose(available(UFFD_WP_ASYNC), available(PAGEMAP_SCAN), available(SOFT_DIRTY));
    }

    /** The features as plain maps and lists, ready for a JSON writer. */
    public Map<String, Object> toMap() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (Feature f : features) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", f.name());
            m.put("available", f.available());
            m.put("detail", f.detail());
            list.add(m);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("features", list);
        root.put("dirtyTracking", dirtyTracking().label());
        return root;
    }

    /** One line per feature: name, yes/no, detail; then the dirty-tracking choice. */
    public String report() {
        int width = "dirty tracking".length();
        for (Feature f : features) width = Math.max(width, f.name().length());
        StringBuilder sb = new StringBuilder();
        String format = "%-" + width + "s  %-3s  %s%n";
        sb.append(String.format(format, "FEATURE", "OK", "DETAIL"));
        for (Feature f : features) sb.append(String.format(format, f.name(), f.available() ? "yes" : "no", f.detail()));
        sb.append(String.format(format, "dirty tracking", "->", dirtyTracking().label()));
        return sb.toString();
    }

    @Override public String toString() { return report(); }

    private static String describe(Throwable t) {
        String message = t.getMessage();
        return message == null || message.isBlank() ? t.getClass().getSimpleName()
                : t.getClass().getSimpleName() + ": " + message;
    }

    /** The soft-dirty probe alone (cheap: one page of our own), for choosing a dirty tracker at run time. */
    public static boolean softDirtyWorks() {
        try {
            return Probes.softDirty().available();
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }
}
