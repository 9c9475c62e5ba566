package io.jmigrate.engine.precopy;

import io.jmigrate.engine.check.DirtyTracking;
import io.jmigrate.engine.proc.Smaps;
import io.jmigrate.engine.proc.SmapsEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * soft-dirty through the DirtyTracker interface, on pagemap data laid out as /proc/PID/pagemap is (one 64-bit word
 * per page at offset vaddr / 4096 * 8). This kernel has no CONFIG_MEM_SOFT_DIRTY, so bit 55 cannot be recorded
 * live here: the words below are written in pagemap's format (Documentation/admin-guide/mm/pagemap.rst: bit 63
 * present, 56 exclusive, 55 soft-dirty, PFN below) as a soft-dirty kernel reports pages written since clear_refs.
 * They are synthesized, not captured from such a kernel; the smaps text is a recorded one, trimmed.
 */
class SoftDirtyTrackerTest {
    private static final long PRESENT = 1L << 63, SOFT_DIRTY = 1L << 55, EXCLUSIVE = 1L << 56;
    private static final long HEAP = 0x55d0c8a2e000L, ANON = 0x7f3a1c000000L;

    @TempDir
    Path dir;

    private static final String SMAPS = """
            55d0c8a2e000-55d0c8a36000 rw-p 00000000 00:00 0                          [heap]
            Size:                 32 kB
            Rss:                  24 kB
            VmFlags: rd wr mr mw me ac
            7f3a1c000000-7f3a1c004000 rw-p 00000000 00:00 0
            Size:                 16 kB
            Rss:                  16 kB
            VmFlags: rd wr mr mw me ac sd
            """;

    private void recordPagemap(long vaddr, long... words) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve("pagemap"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(words.length * 8).order(ByteOrder.nativeOrder());
            for (long w : words) b.putLong(w);
            b.flip();
            ch.write(b, vaddr / 4096 * 8);
        }
    }

    @Test
    void softDirtyPagesAndNewVmasAreReportedAndTheBitsAreCleared() throws IOException {
        // heap: 8 pages; written since the last clear: pages 1, 2 and 6; page 4 never touched (not present)
        long pfn = 0x1a2b3c;
        recordPagemap(HEAP,
                PRESENT | EXCLUSIVE | pfn, PRESENT | EXCLUSIVE | SOFT_DIRTY | (pfn + 1), PRESENT | EXCLUSIVE | SOFT_DIRTY | (pfn + 2),
                PRESENT | EXCLUSIVE | (pfn + 3), 0, PRESENT | EXCLUSIVE | (pfn + 5), PRESENT | EXCLUSIVE | SOFT_DIRTY | (pfn + 6),
                PRESENT | EXCLUSIVE | (pfn + 7));
        // the second VMA is new since the last clear (VmFlags "sd"): dirty whatever its words say
        recordPagemap(ANON, PRESENT | 0x2000, PRESENT | 0x2001, PRESENT | 0x2002, PRESENT | 0x2003);
        Files.writeString(dir.resolve("clear_refs"), "");
        List<SmapsEntry> vmas = Smaps.parse(SMAPS);

        DirtyTracker tracker = SoftDirtyTracker.over(dir);
        assertEquals(DirtyTracking.SOFT_DIRTY, tracker.kind());
        assertTrue(tracker.needsFreezeToHarvest(), "reading then clearing is not atomic");
        PageRanges dirty = tracker.harvest(1, vmas);

        assertEquals(3 + 4, dirty.pages());
        assertFalse(dirty.contains(HEAP));
        assertTrue(dirty.contains(HEAP + 0x1000));
        assertTrue(dirty.contains(HEAP + 0x2000));
        assertFalse(dirty.contains(HEAP + 0x3000));
        assertTrue(dirty.contains(HEAP + 0x6000));
        assertFalse(dirty.contains(HEAP + 0x7000));
        assertTrue(dirty.contains(ANON) && dirty.contains(ANON + 0x3000));
        assertEquals("4", Files.readString(dir.resolve("clear_refs")), "the harvest clears the bits for the next round");
    }

    @Test
    void aDirtyRunAtTheEndOfAWindowIsClosed() {
        PageRanges.Builder b = PageRanges.builder();
        SoftDirtyTracker.addDirty(0x10000, new long[]{0, SOFT_DIRTY, SOFT_DIRTY}, 3, b);
        PageRanges r = b.build();
        assertEquals(1, r.size());
        assertEquals(0x11000, r.start(0));
        assertEquals(0x13000, r.end(0));
    }
}
