package io.jmigrate.engine.dump;

import io.jmigrate.engine.Version;
import io.jmigrate.engine.check.DirtyTracking;
import io.jmigrate.engine.check.TrackingCapabilities;
import io.jmigrate.engine.compel.Freezer;
import io.jmigrate.engine.compel.FrozenProcess;
import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.compel.Tracer;
import io.jmigrate.engine.image.ImageFormat;
import io.jmigrate.engine.image.ImageKind;
import io.jmigrate.engine.image.ImageSink;
import io.jmigrate.engine.image.ImageWriter;
import io.jmigrate.engine.image.PageSink;
import io.jmigrate.engine.image.proto.DumpStats;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.ProcessTree;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.precopy.DirtyTracker;
import io.jmigrate.engine.precopy.FullCopyTracker;
import io.jmigrate.engine.precopy.PageRanges;
import io.jmigrate.engine.precopy.RoundStats;
import io.jmigrate.engine.precopy.SoftDirtyTracker;
import io.jmigrate.engine.precopy.UffdWpTracker;
import io.jmigrate.engine.proc.Limit;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.proc.ProcStat;
import io.jmigrate.engine.proc.SmapsEntry;
import io.jmigrate.engine.sys.ZeroPage;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * One pre-copy round: copies a process tree's memory into an image set while it keeps running, as CRIU's
 * pre-dump. The first round arms a dirty tracker in every process and copies every present page; a round on top
 * of an earlier one ({@code prevImagesDir}) takes the trackers over, harvests what was written since (the harvest
 * re-arms), and copies only that, leaving the rest to the parent (PageRun.in_parent).
 *
 * <p>Per process and round: harvest first, then read /proc/PID/maps and pagemap, then copy, with the process
 * running: a page written during the copy was either copied after the write or is reported by the next harvest.
 * The process is frozen only to create the userfaultfd (first round) or around a soft-dirty harvest.
 */
public final class PreDumper {
    private final ProcFs procfs;
    /** What the kernel offers for tracking: probed when a tracker is first armed, unless given. */
    private TrackingCapabilities capabilities;

    public PreDumper() { this(new ProcFs()); }

    public PreDumper(ProcFs procfs) { this(procfs, null); }

    /**
     * With {@code capabilities} instead of probing the kernel (null: probe): how tests show the fallbacks of a
     * kernel without PAGEMAP_SCAN or soft-dirty on one that has them. See also {@link TrackingCapabilities#PROBE_ENV}.
     */
    public PreDumper(ProcFs procfs, TrackingCapabilities capabilities) {
        this.procfs = procfs;
        this.capabilities = capabilities;
    }

    private TrackingCapabilities capabilities() {
        if (capabilities == null) capabilities = TrackingCapabilities.probe();
        return capabilities;
    }

    /**
     * @param tracking the backend to use, or null to take the best the kernel offers (and fall back)
     * @param rounds   receives each process's round figures
     */
    public record Options(int pid, Path imagesDir, Path prevImagesDir, DirtyTracking tracking,
                          Consumer<String> progress, Consumer<RoundStats> rounds) {
        public static Options of(int pid, Path imagesDir) {
            return new Options(pid, imagesDir, null, null, m -> { }, r -> { });
        }

        public Options withParent(Path prev) { return new Options(pid, imagesDir, prev, tracking, progress, rounds); }

        public Options withTracking(DirtyTracking t) { return new Options(pid, imagesDir, prevImagesDir, t, progress, rounds); }

        public Options withProgress(Consumer<String> p) { return new Options(pid, imagesDir, prevImagesDir, tracking, p, rounds); }

        public Options withRounds(Consumer<RoundStats> r) { return new Options(pid, imagesDir, prevImagesDir, tracking, progress, r); }
    }

    /** What the round did; {@code rounds} has one entry per process. */
    public record Result(Path imagesDir, DirtyTracking tracking, DumpStats stats, List<RoundStats> rounds) {}

    public Result preDump(Options options) {
        return preDump(options, null);
    }

    /**
     * As {@link #preDump(Options)}, into {@code sink} (a page server) instead of {@code imagesDir}. A later round
     * still reads its parent's index and tracker state from {@code prevImagesDir}, a local set (for a page server:
     * the shadow the parent round left, see page-server's NetworkImageSink); the sink links to the parent its own way.
     */
    public Result preDump(Options options, ImageSink sink) {
        Preflight.check(procfs, options.pid());
        try (Tracer tracer = new Tracer()) {
            return tracer.call(() -> round(options, sink));
        }
    }

    /** {@code sink} null: the local images directory. */
    private Result round(Options options, ImageSink sink) {
        int root = options.pid();
        long startedAt = System.nanoTime();
        ParentImages parent = options.prevImagesDir() == null ? null : ParentImages.open(options.prevImagesDir(), options.imagesDir());
        List<Integer> tree = ProcessTreeWalker.walk(procfs, root).stream().filter(pid -> !isZombie(pid)).toList();
        for (int pid : tree) {
            if (pid != root) Preflight.check(procfs, pid);
            // refused now what the final dump would refuse, before a tracker is armed
            VmaCollector.collect(pid, procfs.smaps(pid), parent != null && parent.tracker(pid) != null);
        }
        ImageSink images = sink != null ? sink : ImageWriter.create(options.imagesDir());
        if (parent != null) parent.markTrackerAdvanced(options.imagesDir(), options.progress());   // before any harvest
        List<DirtyTracker> trackers = new ArrayList<>();
        List<RoundStats> rounds = new ArrayList<>();
        DumpStats.Builder stats = DumpStats.newBuilder();
        DirtyTracking used = null;
        try {
            Inventory.Builder inventory = Inventory.newBuilder().setToolVersion(Version.VERSION).setRootPid(root)
                    .setKernelRelease(Version.kernelRelease()).setHostname(Version.hostname()).setPreDump(true);
            if (parent != null) inventory.setParentDir(parent.dir.toString()).setParentInventoryCrc32C(parent.inventoryCrc);
            ProcessTree.Builder pstree = ProcessTree.newBuilder();
            for (int pid : tree) {
                long t0 = System.nanoTime();
                DirtyTracker continued = parent == null ? null : parent.continueTracking(pid, options.progress());
                if (continued != null && options.tracking() != null && continued.kind() != options.tracking()) {
                    continued.close();
                    continued = null;
                }
                DirtyTracker tracker = continued != null ? continued : arm(pid, options);
                trackers.add(tracker);
                if (used == null || tracker.kind().ordinal() > used.ordinal()) used = tracker.kind();

                List<SmapsEntry> smaps = procfs.smaps(pid);
                List<SmapsEntry> tracked = ParentImages.trackedVmas(pid, smaps);
                PageRanges dirty = harvest(tracker, pid, tracked);
                long harvestedAt = System.nanoTime();
                long harvestedWall = System.currentTimeMillis();
                if (inventory.getHarvestedUnixMs() == 0) inventory.setHarvestedUnixMs(harvestedWall);

                // maps and pagemap again after the harvest: memory that appeared meanwhile is new, hence copied
                smaps = procfs.smaps(pid);
                List<Vma> vmas = VmaCollector.collect(pid, smaps, true);
                Set<Long> emptyVmas = new HashSet<>();
                for (var e : smaps) if (e.rssKb() == 0 && e.swapKb() == 0) emptyVmas.add(e.mapping().start());
                MemoryDumper memory = new MemoryDumper(pid, ZeroPage.pfn());
                memory.whileRunning();
                PageRanges parentPresent = continued == null ? null : parent.present(pid);
                if (parentPresent != null) memory.againstParent(parentPresent, dirty);
                PageSink pages = images.openPages(pid);
                PageIndex index = memory.dump(vmas, emptyVmas, pages, ImageFormat.PAGES_DATA_OFFSET);
                pages.close();
                images.writeMessage(ImageKind.PAGEMAP, pid, index);
                long done = System.nanoTime();

                ProcStat st = procfs.stat(pid);
                pstree.addProcesses(ProcessEntry.newBuilder().setPid(pid).setPpid(st.ppid()).setPgid(st.pgrp()).setSid(st.session()));
                if (tracker.state() != null) inventory.addDirtyTrackers(tracker.state());
                long dirtyPages = parentPresent == null ? memory.pagesScanned : dirty.pages();
                long interval = parent == null || continued == null ? 0
                        : Math.max(1, (harvestedWall - parent.set.inventory().getHarvestedUnixMs()) * 1_000_000L);
                RoundStats round = new RoundStats(pid, parent == null ? 1 : roundOf(parent) + 1, memory.pagesScanned,
                        dirtyPages, memory.pagesWritten, done - t0, continued == null ? 0 : interval);
                rounds.add(round);
                options.rounds().accept(round);
                options.progress().accept(round.describe() + " [" + tracker.kind() + "]"
                        + (memory.pagesDropped > 0 ? ", " + memory.pagesDropped + " pages vanished while copying" : ""));
                stats.setPagesScanned(stats.getPagesScanned() + memory.pagesScanned)
                        .setPagesWritten(stats.getPagesWritten() + memory.pagesWritten)
                        .setBytesWritten(stats.getBytesWritten() + memory.pagesWritten * 4096)
                        .setZeroPagesSkipped(stats.getZeroPagesSkipped() + memory.zeroPagesSkipped)
                        .setPagesInParent(stats.getPagesInParent() + memory.pagesInParent)
                        .setDirtyPages(stats.getDirtyPages() + dirtyPages)
                        .setMemoryNanos(stats.getMemoryNanos() + (done - harvestedAt));
            }
            images.writeMessage(ImageKind.PSTREE, root, pstree.build());
            stats.setTotalNanos(System.nanoTime() - startedAt).setFrozenNanos(frozenNanos);
            images.commit(inventory.setDirtyTracking(used.label()).setCreatedUnixMs(System.currentTimeMillis())
                    .setStats(stats));
            return new Result(images instanceof ImageWriter w ? w.directory() : Path.of(images.destination()), used, stats.build(), rounds);
        } catch (RuntimeException e) {
            images.abort();
            throw e;       // the processes were never left frozen; an armed uffd only marks pages (see docs/pre-copy.md)
        } finally {
            for (DirtyTracker t : trackers) t.close();     // our handles only: the trackers stay in the processes
        }
    }

    private long frozenNanos;

    private static int roundOf(ParentImages parent) {
        int depth = 1;
        for (Path p = parent.set.parentDir(); p != null && depth < 10_000; depth++) {
            try {
                p = io.jmigrate.engine.image.ImageSet.open(p, false).parentDir();
            } catch (RuntimeException e) {
                break;
            }
        }
        return depth;
    }

    /**
     * A fresh tracker for {@code pid}: the forced backend, or the best that works, with a warning on fallback. The
     * backends tried are {@link TrackingCapabilities#candidates}, a pure function of the probed facts.
     */
    private DirtyTracker arm(int pid, Options options) {
        DirtyTracking wanted = options.tracking();
        TrackingCapabilities caps = capabilities();
        List<DirtyTracking> candidates = caps.candidates(wanted);
        if (candidates.isEmpty()) throw new DumpRefusedException(caps.missing(wanted) + "; see jmigrate check");
        List<String> passedOver = new ArrayList<>();
        String unusable = caps.whyNotBetterThan(candidates.getFirst());
        if (!unusable.isEmpty()) passedOver.add(unusable);
        for (DirtyTracking backend : candidates) {
            switch (backend) {
                case UFFD_WP_ASYNC -> {
                    if (usesUserfaultfd(pid)) {
                        if (wanted != null) throw new DumpRefusedException("PID " + pid + " uses userfaultfd itself; uffd-wp-async tracking cannot be used (try --dirty-tracking full-copy)");
                        passedOver.add("PID " + pid + " uses userfaultfd itself");
                        continue;
                    }
                    try {
                        return armUffd(pid);
                    } catch (RuntimeException e) {
                        if (wanted != null) throw e;
                        passedOver.add("uffd-wp tracking failed: " + e.getMessage());
                    }
                }
                case SOFT_DIRTY -> {
                    if (!passedOver.isEmpty())
                        options.progress().accept("warning: PID " + pid + " tracked with soft-dirty (" + String.join("; ", passedOver) + ")");
                    return SoftDirtyTracker.arm(pid);
                }
                case FULL_COPY -> {
                    if (wanted == null) options.progress().accept("warning: no dirty-page tracking for PID " + pid
                            + ": every round copies all its memory (" + String.join("; ", passedOver) + ")");
                    return new FullCopyTracker();
                }
            }
        }
        throw new AssertionError("full-copy is always a candidate without a forced backend");
    }

    private UffdWpTracker armUffd(int pid) {
        int soft = 1024;
        for (Limit l : procfs.limits(pid)) if (l.name().equals("Max open files")) soft = (int) Math.min(l.soft(), 1 << 20);
        int lowest = Math.max(3, Math.min(soft, 1024) - 16);
        FrozenProcess frozen = Freezer.freeze(pid);
        long t0 = System.nanoTime();
        try {
            return UffdWpTracker.arm(pid, RemoteSyscalls.in(frozen.leader(), pid), lowest);
        } finally {
            frozen.resume();
            frozenNanos += System.nanoTime() - t0;
        }
    }

    private PageRanges harvest(DirtyTracker tracker, int pid, List<SmapsEntry> vmas) {
        if (!tracker.needsFreezeToHarvest()) return tracker.harvest(pid, vmas);
        FrozenProcess frozen = Freezer.freeze(pid);
        long t0 = System.nanoTime();
        try {
            return tracker.harvest(pid, ParentImages.trackedVmas(pid, procfs.smaps(pid)));   // as they are now, frozen
        } finally {
            frozen.resume();
            frozenNanos += System.nanoTime() - t0;
        }
    }

    /** A VMA registered with userfaultfd, or a userfaultfd among the fds: the process uses it itself. */
    private boolean usesUserfaultfd(int pid) {
        for (SmapsEntry s : procfs.smaps(pid)) if (s.uffdMissing() || s.uffdWp()) return true;
        for (int fd : procfs.fdNumbers(pid)) {
            try {
                if (procfs.fdTarget(pid, fd).equals("anon_inode:[userfaultfd]")) return true;
            } catch (RuntimeException e) {
                // closed meanwhile
            }
        }
        return false;
    }

    private boolean isZombie(int pid) {
        try {
            return procfs.stat(pid).state() == 'Z';
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** What uffd-wp tracking costs on one process: see {@link #measureTrackingCost}. */
    public record TrackingCost(long privatePages, long armFrozenNanos, long registerNanos, long scanNanos, long dirtyAtScan,
                               long closeFrozenNanos) {}

    /**
     * Arms uffd-wp tracking in {@code pid} (frozen: userfaultfd created inside), registers and protects all its
     * private memory (first harvest, process running), scans it once more (second harvest), then closes the
     * userfaultfd inside the frozen process again: the process is left as it was. For `jmigrate bench`.
     */
    public TrackingCost measureTrackingCost(int pid) {
        Preflight.check(procfs, pid);
        try (Tracer tracer = new Tracer()) {
            return tracer.call(() -> {
                long t0 = System.nanoTime();
                UffdWpTracker tracker = armUffd(pid);
                long armed = System.nanoTime() - t0;
                List<SmapsEntry> vmas = ParentImages.trackedVmas(pid, procfs.smaps(pid));
                long pages = 0;
                for (SmapsEntry v : vmas) pages += (v.mapping().end() - v.mapping().start()) / 4096;
                long t1 = System.nanoTime();
                tracker.harvest(pid, vmas);
                long t2 = System.nanoTime();
                PageRanges dirty = tracker.harvest(pid, ParentImages.trackedVmas(pid, procfs.smaps(pid)));
                long t3 = System.nanoTime();
                FrozenProcess frozen = Freezer.freeze(pid);
                long t4 = System.nanoTime();
                try {
                    tracker.closeInProcess(RemoteSyscalls.in(frozen.leader(), pid));
                } finally {
                    frozen.resume();
                }
                return new TrackingCost(pages, armed, t2 - t1, t3 - t2, dirty.pages(), System.nanoTime() - t4);
            });
        }
    }
}
