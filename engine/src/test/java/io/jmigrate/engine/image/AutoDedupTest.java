package io.jmigrate.engine.image;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpResult;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.dump.PreDumper;
import io.jmigrate.engine.precopy.PageRanges;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.FileSpace;
import io.jmigrate.engine.testing.Dirtier;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --auto-dedup on real pre-copy chains: the dirtier fixture rewrites pages between rounds; the older rounds' pages
 * files lose exactly the pages a newer round holds itself (in allocated disk blocks), every set still verifies, and
 * the newest set restores every page. The two phases are also run apart, as a crash would leave them.
 */
class AutoDedupTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final long PAGE = 4096;
    private static final int MIB = 32;
    private static final String RATE_MB_PER_S = "20";
    /** Page writes the fixture must have made between two rounds (about 1/4 of the buffer). */
    private static final long WRITES_BETWEEN_ROUNDS = MIB * 256 / 4;

    @TempDir
    Path tmp;

    @Test
    void aThreeRoundChainKeepsOneCopyOfEachRewrittenPageAndTheNewestSetRestoresEveryPage() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("dirtier.log");
            int pid = start(workloads, log);
            Path p1 = tmp.resolve("p1"), p2 = tmp.resolve("p2"), fin = tmp.resolve("final");
            twoRounds(pid, log, p1, p2);
            long p1Before = allocated(p1, pid);
            PageRanges p1Own = ImageSet.open(p1).ownRanges(pid);
            PageRanges p2Own = ImageSet.open(p2).ownRanges(pid);
            long expectedFromP1 = p1Own.intersect(p2Own).pages();
            assertTrue(expectedFromP1 >= WRITES_BETWEEN_ROUNDS / 2, "round 2 re-copied rewritten pages: " + expectedFromP1);

            List<AutoDedup.SetResult> second = AutoDedup.run(p2, m -> { });
            assertEquals(1, second.size(), second.toString());
            assertEquals(expectedFromP1, second.getFirst().pagesDropped());
            assertFreed(expectedFromP1, p1Before - allocated(p1, pid), "p1's pages file lost the pages p2 holds");
            assertEquals(expectedFromP1, ImageSet.open(p1).dropped(pid).pages());

            awaitWrites(pid, log);
            DumpResult dump = new Dumper().dump(DumpOptions.of(pid, fin).withParent(p2));
            Workloads.awaitGone(pid);
            PageRanges finOwn = ImageSet.open(fin).ownRanges(pid);
            long p2Expected = p2Own.intersect(finOwn).pages();
            long p1Expected = p1Own.minus(p2Own).intersect(finOwn).pages();
            long p1Mid = allocated(p1, pid), p2Before = allocated(p2, pid);
            List<AutoDedup.SetResult> last = AutoDedup.run(fin, m -> { });
            assertEquals(2, last.size(), last.toString());
            assertTrue(p2Expected > 0 && dump.stats().getPagesWritten() > 0, "the final dump copied rewritten pages");
            assertFreed(p2Expected, p2Before - allocated(p2, pid), "p2 lost the pages the final set holds");
            assertFreed(p1Expected, p1Mid - allocated(p1, pid), "p1 lost the pages the final set holds, p2's were gone");

            // every set verifies (page checksums included), the links hold though two inventories were rewritten
            for (Path set : List.of(p1, p2, fin)) ImageSet.open(set, true);
            assertTrue(ImageSet.open(p1).isDeduplicated());
            assertTrue(ImageJson.render(ImageSet.open(p1)).contains("pages_dropped_by_auto_dedup"));
            LocalImageChain.of(ImageSet.open(fin), true);

            workloads.adopt(new Restorer().restore(RestoreOptions.of(fin)).pid());
            assertVerified(pid, log);
        }
    }

    /** A crash after phase A (inventory renamed), before or during phase B (punching): every set stays valid. */
    @Test
    void phaseAAloneLeavesEverySetValidAndTheNewestRestorableAndPhaseBMayStopAnywhere() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("crash.log");
            int pid = start(workloads, log);
            Path p1 = tmp.resolve("p1"), fin = tmp.resolve("final");
            new PreDumper().preDump(PreDumper.Options.of(pid, p1));
            awaitWrites(pid, log);
            new Dumper().dump(DumpOptions.of(pid, fin).withParent(p1));
            Workloads.awaitGone(pid);

            ImageSet before = ImageSet.open(p1);
            int crcBefore = ImageFormat.crc32cOfFile(p1.resolve("inventory.img"));
            PageRanges drop = before.ownRanges(pid).intersect(ImageSet.open(fin).ownRanges(pid));
            assertTrue(drop.pages() > 0);
            long allocatedBefore = allocated(p1, pid);

            ImageSet marked = AutoDedup.markDropped(before, Map.of(pid, drop));         // phase A only
            assertEquals(allocatedBefore, allocated(p1, pid), "phase A punches nothing");
            assertNotEquals(crcBefore, ImageFormat.crc32cOfFile(p1.resolve("inventory.img")));
            assertEquals(crcBefore, marked.inventory().getOriginInventoryCrc32C());
            ImageSet.open(p1, true);                                                     // verifies, pages unpunched

            // phase B interrupted after its first hole
            List<long[]> holes = marked.droppedFileRanges(pid, marked.dropped(pid));
            assertTrue(holes.size() >= 1);
            int fd = io.jmigrate.engine.sys.Files.open(marked.pagesPath(pid).toString(), io.jmigrate.engine.sys.Files.O_WRONLY);
            try {
                FileSpace.punchHole(fd, "pages", holes.getFirst()[0], holes.getFirst()[1]);
            } finally {
                io.jmigrate.engine.sys.Files.close(fd);
            }
            ImageSet.open(p1, true);
            AutoDedup.punch(marked);
            AutoDedup.punch(marked);                                                     // idempotent
            assertFreed(drop.pages(), allocatedBefore - allocated(p1, pid), "phase B freed the dropped pages");
            ImageSet.open(p1, true);

            // a run that does both phases finds nothing more to drop, and the restore of the newest set works
            List<AutoDedup.SetResult> again = AutoDedup.run(fin, m -> { });
            assertEquals(0, again.getFirst().pagesDropped(), again.toString());
            workloads.adopt(new Restorer().restore(RestoreOptions.of(fin)).pid());
            assertVerified(pid, log);
        }
    }

    /** A restore that needs a dropped page fails in one line; a dump built on a set that dropped pages copies them. */
    @Test
    void aDroppedPageThatIsNeededFailsTheRestoreInOneLineAndADumpCopiesItInstead() throws java.io.IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("needed.log");
            int pid = start(workloads, log);
            Path p1 = tmp.resolve("p1"), p2 = tmp.resolve("p2"), fin = tmp.resolve("final");
            twoRounds(pid, log, p1, p2);
            AutoDedup.run(p2, m -> { });
            PageRanges droppedFromP1 = ImageSet.open(p1).dropped(pid);
            assertTrue(droppedFromP1.pages() > 0);
            // p2 marked p1's tracking as advanced, so a dump built on p1 would copy everything anyway; without that
            // mark (its write can fail, with a warning) the pages p1 dropped must still not be left to it
            java.nio.file.Files.delete(p1.resolve("tracker-advanced"));

            // a final dump built on p1 (not the newest round): the pages p1 dropped are copied, not left to p1
            DumpResult dump = new Dumper().dump(DumpOptions.of(pid, fin).withParent(p1));
            Workloads.awaitGone(pid);
            ImageSet finSet = ImageSet.open(fin);
            PageRanges listed = finSet.ownRanges(pid).union(finSet.inParentRanges(pid));
            assertEquals(0, finSet.inParentRanges(pid).intersect(droppedFromP1).pages(), "nothing dropped is left to p1");
            assertEquals(listed.intersect(droppedFromP1).pages(), finSet.ownRanges(pid).intersect(droppedFromP1).pages());
            assertTrue(dump.stats().getPagesInParent() > 0);

            // another set drops pages this final set leaves to p1 (as a newer branch's --auto-dedup would)
            ImageSet p1Set = ImageSet.open(p1);
            PageRanges needed = finSet.inParentRanges(pid).intersect(p1Set.ownRanges(pid).minus(p1Set.dropped(pid)));
            AutoDedup.punch(AutoDedup.markDropped(p1Set, Map.of(pid, needed)));
            ImageSet.open(p1, true);
            ImageException e = assertThrows(ImageException.class, () -> new Restorer().restore(RestoreOptions.of(fin)));
            assertTrue(e.getMessage().contains("dropped by --auto-dedup; restore the newest set of the chain"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertFalse(Workloads.alive(pid), "nothing was restored");
        }
    }

    @Test
    void aSetWithoutParentIsANoOpWithANote() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("alone.log");
            int pid = start(workloads, log);
            new PreDumper().preDump(PreDumper.Options.of(pid, tmp.resolve("p1")));
            List<String> notes = new ArrayList<>();
            assertTrue(AutoDedup.run(tmp.resolve("p1"), notes::add).isEmpty());
            assertTrue(notes.getFirst().contains("no parent"), notes.toString());
            assertFalse(ImageSet.open(tmp.resolve("p1")).isDeduplicated());
        }
    }

    /** A pages file whose contents changed is not blessed with a new checksum: the dedup of that set fails. */
    @Test
    void aCorruptOlderSetIsNotDeduplicatedAndTheNewSetStaysComplete() throws java.io.IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("corrupt.log");
            int pid = start(workloads, log);
            Path p1 = tmp.resolve("p1"), p2 = tmp.resolve("p2");
            twoRounds(pid, log, p1, p2);
            Path pages = ImageSet.open(p1).pagesPath(pid);
            try (var ch = java.nio.channels.FileChannel.open(pages, java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {42}), ch.size() - 1);
            }
            List<String> notes = new ArrayList<>();
            List<AutoDedup.SetResult> results = AutoDedup.run(p2, notes::add);
            assertTrue(results.getFirst().failure() != null && results.getFirst().failure().contains("corrupt"), results.toString());
            assertTrue(notes.stream().anyMatch(n -> n.startsWith("warning: --auto-dedup of " + p1)), notes.toString());
            assertFalse(ImageSet.open(p1, false).isDeduplicated());
            ImageSet.open(p2, true);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    /** Pre-dump round p1, the workload rewrites pages, then round p2 on top of p1. */
    private static void twoRounds(int pid, Path log, Path p1, Path p2) {
        new PreDumper().preDump(PreDumper.Options.of(pid, p1));
        awaitWrites(pid, log);
        new PreDumper().preDump(PreDumper.Options.of(pid, p2).withParent(p1));
    }

    private static int start(Workloads workloads, Path log) {
        int pid = workloads.start(log, Workloads.fixture("dirtier").toString(), Integer.toString(MIB), RATE_MB_PER_S);
        Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
        return pid;
    }

    /**
     * The disk blocks freed are the dropped pages', less the few blocks ext4 may add to its extent tree for the
     * holes (an index block is 4 KiB: seen once per test here).
     */
    private static void assertFreed(long pages, long freedBytes, String what) {
        assertTrue(freedBytes <= pages * PAGE && freedBytes >= pages * PAGE - 16 * PAGE,
                what + ": " + pages + " pages dropped, " + freedBytes + " bytes freed");
    }

    private static long allocated(Path set, int pid) {
        return FileSpace.allocatedBytes(set.resolve(ImageKind.PAGES.fileName(pid)).toString());
    }

    /** Waits until the fixture made {@link #WRITES_BETWEEN_ROUNDS} more page writes than now. */
    private static void awaitWrites(int pid, Path log) {
        Dirtier.awaitPageWrites(pid, log, WRITES_BETWEEN_ROUNDS, TIMEOUT);
    }

    private static void assertVerified(int pid, Path log) {
        Dirtier.verdict(pid, log, TIMEOUT);
    }
}
