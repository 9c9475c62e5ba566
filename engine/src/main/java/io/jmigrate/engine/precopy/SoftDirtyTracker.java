package io.jmigrate.engine.precopy;

import io.jmigrate.engine.check.DirtyTracking;
import io.jmigrate.engine.proc.Pagemap;
import io.jmigrate.engine.proc.PagemapEntry;
import io.jmigrate.engine.proc.SmapsEntry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Soft-dirty (CONFIG_MEM_SOFT_DIRTY): writing "4" to /proc/PID/clear_refs clears every page's soft-dirty bit and
 * write-protects it; the next write sets pagemap bit 55 again. Reading the bits and clearing them are two steps, so
 * the process must be frozen in between (a write there would be lost). New VMAs carry VM_SOFTDIRTY ("sd" in
 * VmFlags) and are dirty as a whole. The kernel here lacks soft-dirty: the decision logic ({@link #addDirty}) is
 * tested on recorded pagemap words.
 */
public final class SoftDirtyTracker implements DirtyTracker {
    private static final int WINDOW_PAGES = 1 << 16;
    private static final long PAGE = 4096;

    /** /proc/PID, or a directory holding a recorded pagemap and a clear_refs file (tests). */
    private final Path procDir;

    private SoftDirtyTracker(Path procDir) {
        this.procDir = procDir;
    }

    /** Clears the soft-dirty bits of {@code pid}: from now on, writes are tracked. */
    public static SoftDirtyTracker arm(int pid) {
        SoftDirtyTracker t = new SoftDirtyTracker(Path.of("/proc", Integer.toString(pid)));
        t.clearRefs();
        return t;
    }

    /** A tracker reading {@code dir}/pagemap and writing {@code dir}/clear_refs: recorded data on any kernel. */
    public static SoftDirtyTracker over(Path dir) {
        return new SoftDirtyTracker(dir);
    }

    /** Takes over after an earlier round, which left the bits cleared at its harvest. */
    public static SoftDirtyTracker continuing(int pid) {
        return new SoftDirtyTracker(Path.of("/proc", Integer.toString(pid)));
    }

    @Override public DirtyTracking kind() { return DirtyTracking.SOFT_DIRTY; }

    @Override public boolean needsFreezeToHarvest() { return true; }

    @Override
    public PageRanges harvest(int pid, List<SmapsEntry> vmas) {
        PageRanges dirty = peek(pid, vmas);
        clearRefs();
        return dirty;
    }

    @Override
    public PageRanges peek(int pid, List<SmapsEntry> vmas) {
        PageRanges.Builder dirty = PageRanges.builder();
        long[] window = new long[WINDOW_PAGES];
        try (Pagemap pagemap = Pagemap.open(procDir.resolve("pagemap"))) {
            for (SmapsEntry v : vmas) {
                long start = v.mapping().start(), end = v.mapping().end();
                if (v.vmFlags().contains("sd")) {
                    dirty.add(start, end);
                    continue;
                }
                for (long at = start; at < end; at += WINDOW_PAGES * PAGE) {
                    int count = (int) Math.min(WINDOW_PAGES, (end - at) / PAGE);
                    pagemap.read(at, window, 0, count);
                    addDirty(at, window, count, dirty);
                }
            }
        }
        return dirty.build();
    }

    /** Adds the pages of {@code entries} (pagemap words of consecutive pages from {@code start}) with bit 55 set. */
    public static void addDirty(long start, long[] entries, int count, PageRanges.Builder out) {
        long runStart = -1;
        for (int i = 0; i < count; i++) {
            long addr = start + i * PAGE;
            if (PagemapEntry.softDirty(entries[i])) {
                if (runStart < 0) runStart = addr;
            } else if (runStart >= 0) {
                out.add(runStart, addr);
                runStart = -1;
            }
        }
        if (runStart >= 0) out.add(runStart, start + count * PAGE);
    }

    private void clearRefs() {
        Path file = procDir.resolve("clear_refs");
        try {
            Files.writeString(file, "4");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear the soft-dirty bits (" + file + ")", e);
        }
    }

    @Override public void close() { }
}
