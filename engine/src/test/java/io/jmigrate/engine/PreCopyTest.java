package io.jmigrate.engine;

import io.jmigrate.engine.check.DirtyTracking;
import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpRefusedException;
import io.jmigrate.engine.dump.DumpResult;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.dump.PreDumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.precopy.RoundStats;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.testing.Dirtier;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pre-copy on real processes: the dirtier fixture rewrites pages at a known rate while pre-dump rounds copy it;
 * the final dump writes only what changed since the last round, and the restore of the chain brings back every
 * page (the fixture checks each one against its generation counter).
 */
class PreCopyTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final long PAGE = 4096;

    @TempDir
    Path tmp;

    @Test
    void oneGibWrittenAtTenMbPerSecondComesBackByteForByteAndTheFinalDumpCopiesOnlyTheRecentWrites() {
        int mib = 1024;
        double mbPerSecond = 10;
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("dirtier.log");
            int pid = workloads.start(log, Workloads.fixture("dirtier").toString(), Integer.toString(mib), Double.toString(mbPerSecond));
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            List<RoundStats> events = new ArrayList<>();

            PreDumper.Result first = new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre1")).withRounds(events::add));
            assertEquals(DirtyTracking.UFFD_WP_ASYNC, first.tracking(), "this kernel has uffd-wp async + PAGEMAP_SCAN");
            assertTrue(first.stats().getPagesWritten() >= mib * 256L, "round 1 copies the whole buffer: " + first.stats());
            assertTrue(Workloads.alive(pid), "pre-dump leaves the process running");

            PreDumper.Result second = new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre2"))
                    .withParent(tmp.resolve("pre1")).withRounds(events::add));
            assertTrue(second.stats().getPagesWritten() < mib * 256L / 10,
                    "round 2 copies what was written during round 1, not the buffer again: " + second.stats());
            assertTrue(second.stats().getPagesInParent() > mib * 256L * 8 / 10, "the rest is left to round 1: " + second.stats());
            assertEquals(2, events.size());
            assertEquals(2, events.get(1).round());
            assertTrue(events.get(1).dirtyPagesPerSecond() > 0, "round 2 measures a dirty rate");

            long sinceLastHarvest = System.nanoTime();       // round 2's harvest came after this point... minus round 2
            long round2Nanos = second.stats().getTotalNanos();
            DumpResult dump = new Dumper().dump(DumpOptions.of(pid, tmp.resolve("final")).withParent(tmp.resolve("pre2")));
            double window = (System.nanoTime() - sinceLastHarvest + round2Nanos) / 1e9;
            Workloads.awaitGone(pid);
            // the process wrote at most rate x window pages since round 2's harvest; a bound, with 2 MiB of slack
            // for the generation counters, stack and libc pages it touches besides
            long bound = (long) (mbPerSecond * 1e6 / PAGE * window * 1.1) + 512;
            long copied = dump.stats().getPagesWritten();
            assertTrue(copied <= bound, "final dump copied " + copied + " pages, bound " + bound + " for " + window + " s");
            assertTrue(bound < mib * 256L / 20, "the bound means something: " + bound);
            assertTrue(dump.stats().getPagesInParent() > mib * 256L * 9 / 10, "the final dump leaves the rest to the chain: " + dump.stats());

            int restored = new Restorer().restore(RestoreOptions.of(tmp.resolve("final"))).pid();
            workloads.adopt(restored);
            assertEquals(pid, restored);
            Signals.kill(pid, Signals.SIGUSR1);
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "the verdict after restore",
                    l -> l.stream().anyMatch(s -> s.startsWith("verif")));
            assertFalse(lines.stream().anyMatch(s -> s.contains("MISMATCH") || s.contains("FAILED")), String.join("\n", lines));
        }
    }

    @Test
    void newMappingsMunmapMremapAndBrkGrowthBetweenRoundsAreCaught() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("churn.log");
            int pid = workloads.start(log, Workloads.fixture("dirtier").toString(), "64", "5");
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre1")));
            churn(pid, log, 1);
            new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre2")).withParent(tmp.resolve("pre1")));
            churn(pid, log, 2);
            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("final")).withParent(tmp.resolve("pre2")));
            Workloads.awaitGone(pid);
            workloads.adopt(new Restorer().restore(RestoreOptions.of(tmp.resolve("final"))).pid());
            assertVerified(pid, log, "2 churns");
        }
    }

    /**
     * The frozen dump takes VmFlags from the smaps read before the freeze when /proc/PID/maps is unchanged; here the
     * address space is churned after that read and before the freeze (from the progress line that comes between),
     * so the dump must notice and read smaps again, and the restored process must still hold every page.
     */
    @Test
    void aVmaListChangedBetweenTheSmapsReadAndTheFreezeIsReadAgainWhileFrozen() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("late-churn.log");
            int pid = workloads.start(log, Workloads.fixture("dirtier").toString(), "64", "5");
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre1")));
            List<String> progress = new ArrayList<>();
            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("final")).withParent(tmp.resolve("pre1")).withProgress(line -> {
                progress.add(line);
                if (line.startsWith("pages file of PID " + pid) && line.endsWith("(before the freeze)")) churn(pid, log, 1);
            }));
            assertTrue(progress.stream().anyMatch(s -> s.contains("VMA list changed since before the freeze")), String.join("\n", progress));
            Workloads.awaitGone(pid);
            workloads.adopt(new Restorer().restore(RestoreOptions.of(tmp.resolve("final"))).pid());
            assertVerified(pid, log, "1 churns");
        }
    }

    @Test
    void forcedFullCopyCopiesEverythingEachRoundAndStillRestores() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("full.log");
            int pid = workloads.start(log, Workloads.fixture("dirtier").toString(), "32", "5");
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            PreDumper.Result first = new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre1"))
                    .withTracking(DirtyTracking.FULL_COPY));
            PreDumper.Result second = new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre2"))
                    .withParent(tmp.resolve("pre1")).withTracking(DirtyTracking.FULL_COPY));
            assertEquals(DirtyTracking.FULL_COPY, second.tracking());
            assertTrue(second.stats().getPagesWritten() >= 32 * 256, "no tracking: everything again " + second.stats());
            assertEquals(0, second.stats().getPagesInParent());
            assertEquals(0, ImageSet.open(tmp.resolve("pre2")).inventory().getDirtyTrackersCount(), "nothing left in the process");
            DumpResult dump = new Dumper().dump(DumpOptions.of(pid, tmp.resolve("final")).withParent(tmp.resolve("pre2")));
            assertTrue(dump.stats().getPagesWritten() >= 32 * 256, "no tracking: the final dump copies all");
            assertTrue(first.stats().getPagesWritten() >= 32 * 256);
            Workloads.awaitGone(pid);
            workloads.adopt(new Restorer().restore(RestoreOptions.of(tmp.resolve("final"))).pid());
            assertVerified(pid, log, "pages");
        }
    }

    /**
     * A kernel without PAGEMAP_SCAN (and without soft-dirty), as the probed facts say: uffd-wp is not armed, every
     * round copies everything with a warning naming why, and the chain restores. Forcing uffd-wp is refused.
     */
    @Test
    void withoutPagemapScanPreDumpFallsBackToFullCopiesWithAWarningAndTheChainRestores() {
        io.jmigrate.engine.check.TrackingCapabilities noScan = new io.jmigrate.engine.check.TrackingCapabilities(true, false, false);
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("noscan.log");
            int pid = workloads.start(log, Workloads.fixture("dirtier").toString(), "16", "5");
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            DumpRefusedException forced = assertThrows(DumpRefusedException.class, () -> new PreDumper(new io.jmigrate.engine.proc.ProcFs(), noScan)
                    .preDump(PreDumper.Options.of(pid, tmp.resolve("pre1")).withTracking(DirtyTracking.UFFD_WP_ASYNC)));
            assertTrue(forced.getMessage().contains("PAGEMAP_SCAN"), forced.getMessage());

            List<String> progress = new ArrayList<>();
            PreDumper.Result first = new PreDumper(new io.jmigrate.engine.proc.ProcFs(), noScan)
                    .preDump(PreDumper.Options.of(pid, tmp.resolve("pre1")).withProgress(progress::add));
            assertEquals(DirtyTracking.FULL_COPY, first.tracking());
            assertTrue(progress.stream().anyMatch(m -> m.startsWith("warning: no dirty-page tracking for PID " + pid)
                    && m.contains("PAGEMAP_SCAN")), String.join("\n", progress));
            assertEquals(0, ImageSet.open(tmp.resolve("pre1")).inventory().getDirtyTrackersCount(), "no userfaultfd armed");
            assertFalse(Workloads.lines(Path.of("/proc/" + pid + "/smaps")).stream().anyMatch(l -> l.startsWith("VmFlags") && l.contains(" uw")),
                    "no uffd-wp registration in the process");
            PreDumper.Result second = new PreDumper(new io.jmigrate.engine.proc.ProcFs(), noScan)
                    .preDump(PreDumper.Options.of(pid, tmp.resolve("pre2")).withParent(tmp.resolve("pre1")));
            assertEquals(DirtyTracking.FULL_COPY, second.tracking());
            assertTrue(second.stats().getPagesWritten() >= 16 * 256, "no tracking: everything again " + second.stats());
            assertEquals(0, second.stats().getPagesInParent());
            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("final")).withParent(tmp.resolve("pre2")));
            Workloads.awaitGone(pid);
            workloads.adopt(new Restorer().restore(RestoreOptions.of(tmp.resolve("final"))).pid());
            assertVerified(pid, log, "pages");
        }
    }

    /**
     * Round 2 harvested the tracker (re-protecting what was written since round 1), so a dump built on round 1
     * again cannot know those writes from the tracker: it must copy everything, not leave stale pages to round 1.
     */
    @Test
    void aDumpBuiltOnARoundThatALaterRoundAlreadyHarvestedCopiesEverythingAndRestoresEveryPage() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("branch.log");
            int pid = workloads.start(log, Workloads.fixture("dirtier").toString(), "32", "20");
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre1")));
            awaitPageWrites(pid, log, 2048);       // rewritten after round 1's harvest, before round 2's
            new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre2")).withParent(tmp.resolve("pre1")));
            assertTrue(java.nio.file.Files.exists(tmp.resolve("pre1").resolve("tracker-advanced")));
            List<String> progress = new ArrayList<>();
            DumpResult dump = new Dumper().dump(DumpOptions.of(pid, tmp.resolve("final")).withParent(tmp.resolve("pre1"))
                    .withProgress(progress::add));
            assertTrue(progress.stream().anyMatch(m -> m.startsWith("warning: ") && m.contains("harvested its dirty tracking")),
                    String.join("\n", progress));
            assertEquals(0, dump.stats().getPagesInParent(), "nothing left to round 1: " + dump.stats());
            Workloads.awaitGone(pid);
            workloads.adopt(new Restorer().restore(RestoreOptions.of(tmp.resolve("final"))).pid());
            assertVerified(pid, log, "pages");
        }
    }

    @Test
    void softDirtyForcedOnAKernelWithoutItIsRefusedAndTheProcessRunsOn() {
        org.junit.jupiter.api.Assumptions.assumeFalse(io.jmigrate.engine.check.KernelFeatures.softDirtyWorks(),
                "this kernel has soft-dirty");
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("sd.log");
            int pid = workloads.start(log, Workloads.fixture("dirtier").toString(), "8", "5");
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            DumpRefusedException e = assertThrows(DumpRefusedException.class, () -> new PreDumper().preDump(
                    PreDumper.Options.of(pid, tmp.resolve("pre1")).withTracking(DirtyTracking.SOFT_DIRTY)));
            assertTrue(e.getMessage().contains("soft-dirty"), e.getMessage());
            assertFalse(tmp.resolve("pre1").resolve("inventory.img").toFile().exists());
            assertVerified(pid, log, "pages");
        }
    }

    @Test
    void anAbandonedChainLeavesTheProcessRunningAndARestoreRefusesAPreDump() throws java.io.IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("abandoned.log");
            int pid = workloads.start(log, Workloads.fixture("dirtier").toString(), "16", "20");
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre1")));
            assertThrows(RuntimeException.class, () -> new Restorer().restore(RestoreOptions.of(tmp.resolve("pre1"))));
            assertVerified(pid, log, "pages");          // the armed userfaultfd only marks pages: the writer runs on
            // a chain whose parent changed is refused at restore
            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("final")).withParent(tmp.resolve("pre1")).leavingRunning(true));
            assertTrue(io.jmigrate.engine.image.ImageJson.render(ImageSet.open(tmp.resolve("pre1"))).contains("\"pages_dumped\""));
            assertTrue(io.jmigrate.engine.image.ImageJson.render(ImageSet.open(tmp.resolve("final"))).contains("\"pages_in_parent\""));
            // --leave-running ended the chain: our userfaultfd is closed inside the process, a plain dump works again
            assertFalse(java.nio.file.Files.readString(Path.of("/proc/" + pid + "/smaps")).contains(" uw"), "no uffd-wp registration left");
            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("plain")).leavingRunning(true));
            new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("pre1")).withTracking(DirtyTracking.FULL_COPY));
            Exception broken = assertThrows(RuntimeException.class, () -> new Restorer().restore(RestoreOptions.of(tmp.resolve("final"))));
            assertTrue(broken.getMessage().contains("chain"), broken.getMessage());
            assertTrue(Workloads.alive(pid));
        }
    }

    @Test
    void aProcessTreeIsPreDumpedWithOneTrackerPerProcessAndComesBack() {
        List<String> roles = List.of("root", "a", "b", "c");
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("tree.log");
            int root = workloads.start(log, Workloads.fixture("tree").toString(), log.toString());
            for (String role : roles) {
                Workloads.awaitLog(Path.of(log + "." + role), TIMEOUT, role + " ticking",
                        l -> io.jmigrate.engine.testing.TickLog.lastTick(l) >= 2);
            }
            new PreDumper().preDump(PreDumper.Options.of(root, tmp.resolve("pre1")));
            ImageSet pre1 = ImageSet.open(tmp.resolve("pre1"));
            assertEquals(4, pre1.pids().size(), "the whole tree");
            assertEquals(4, pre1.inventory().getDirtyTrackersCount(), "one userfaultfd per process");
            PreDumper.Result second = new PreDumper().preDump(PreDumper.Options.of(root, tmp.resolve("pre2")).withParent(tmp.resolve("pre1")));
            assertTrue(second.stats().getPagesInParent() > 4 * 1024, "each 4 MiB buffer is left to round 1: " + second.stats());
            new Dumper().dump(DumpOptions.of(root, tmp.resolve("final")).withParent(tmp.resolve("pre2")));
            for (int pid : pre1.pids()) Workloads.awaitGone(pid);
            java.util.Map<String, Long> ticks = new java.util.HashMap<>();
            for (String role : roles) ticks.put(role, io.jmigrate.engine.testing.TickLog.lastTick(Workloads.lines(Path.of(log + "." + role))));
            assertEquals(root, new Restorer().restore(RestoreOptions.of(tmp.resolve("final"))).pid());
            pre1.pids().forEach(workloads::adopt);
            for (String role : roles) {
                List<String> lines = Workloads.awaitLog(Path.of(log + "." + role), TIMEOUT, role + " ticking after restore",
                        l -> io.jmigrate.engine.testing.TickLog.lastTick(l) >= ticks.get(role) + 2);
                io.jmigrate.engine.testing.TickLog.assertConsecutive(lines);
            }
        }
    }

    private static void churn(int pid, Path log, int step) {
        Signals.kill(pid, Signals.SIGUSR2);
        Workloads.awaitLog(log, TIMEOUT, "churn " + step, l -> l.stream().anyMatch(s -> s.startsWith("churned " + step + " ")));
    }

    /** Waits (on the fixture's own count, asked with SIGUSR1) until it made {@code n} more page writes. */
    private static void awaitPageWrites(int pid, Path log, long n) {
        Dirtier.awaitPageWrites(pid, log, n, TIMEOUT);
    }

    private static void assertVerified(int pid, Path log, String mustContain) {
        String verdict = Dirtier.verdict(pid, log, TIMEOUT);
        assertTrue(verdict.contains(mustContain), verdict);
    }

    @SuppressWarnings("unused")
    private static long runsInParent(ImageSet set, int pid) {
        return set.pageIndex(pid).getRunsList().stream().filter(PageRun::getInParent).count();
    }
}
