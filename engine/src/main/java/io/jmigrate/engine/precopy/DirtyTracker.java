package io.jmigrate.engine.precopy;

import io.jmigrate.engine.check.DirtyTracking;
import io.jmigrate.engine.image.proto.DirtyTrackerState;
import io.jmigrate.engine.proc.SmapsEntry;

import java.util.List;

/**
 * Finds the pages a process wrote since the previous round. One tracker per process; backends in
 * {@link DirtyTracking}. Memory the tracker did not watch (a VMA that appeared, moved or was replaced since the last
 * round) is reported dirty as a whole: a tracker may over-report, never under-report.
 */
public interface DirtyTracker extends AutoCloseable {
    DirtyTracking kind();

    /**
     * The pages of {@code vmas} written since the last harvest (or since arming), and starts the next interval. For
     * uffd-wp the harvest re-protects what it reports in the same walk, so the process may keep running; see
     * {@link #needsFreezeToHarvest()}.
     */
    PageRanges harvest(int pid, List<SmapsEntry> vmas);

    /**
     * The same pages as {@link #harvest}, without starting a new interval: what the final dump uses, so a dump that
     * fails after it leaves the tracking exactly as it was for another attempt.
     */
    PageRanges peek(int pid, List<SmapsEntry> vmas);

    /** True if the process must be frozen around {@link #harvest} (soft-dirty reads, then clears: not atomic). */
    default boolean needsFreezeToHarvest() { return false; }

    /** What the next round needs to take the tracking over (the uffd left in the process), or null if nothing. */
    default DirtyTrackerState state() { return null; }

    /** Drops our handles; whatever lives in the process (the armed uffd) stays for the next round. */
    @Override void close();
}
