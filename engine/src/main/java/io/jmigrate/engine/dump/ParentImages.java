package io.jmigrate.engine.dump;

import io.jmigrate.engine.check.DirtyTracking;
import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.image.ImageFormat;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.LocalImageChain;
import io.jmigrate.engine.image.proto.DirtyTrackerState;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.precopy.DirtyTracker;
import io.jmigrate.engine.precopy.PageRanges;
import io.jmigrate.engine.precopy.SoftDirtyTracker;
import io.jmigrate.engine.precopy.UffdWpTracker;
import io.jmigrate.engine.proc.SmapsEntry;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The pre-dump a (pre-)dump builds on: which pages it holds per process, and the dirty trackers it left armed in the
 * processes. A page is left to it (PageRun.in_parent) only if it holds the page and the tracker, continued without a
 * gap since, says it was not written.
 */
final class ParentImages {

    final Path dir;
    final ImageSet set;
    final int inventoryCrc;
    final DirtyTracking tracking;
    private final Map<Integer, DirtyTrackerState> trackers = new HashMap<>();
    /**
     * A round built on this set already harvested its trackers (which re-protects the written pages): what was
     * written between this set's harvest and that one is unknown here, so nothing may be left to this set.
     */
    private final String advancedBy;

    /**
     * In a pre-dump directory: written (durably) by a round built on it before that round harvests the trackers.
     * "crc32c=IDENTITY by=DIR": IDENTITY is the set's {@link ImageSet#identityCrc}, so a marker left in a directory
     * since overwritten by another set does not apply to it.
     */
    static final String TRACKER_ADVANCED = "tracker-advanced";

    private ParentImages(Path dir, ImageSet set) {
        this.dir = dir;
        this.set = set;
        this.inventoryCrc = set.identityCrc();    // the CRC before any --auto-dedup: children keep matching it
        Inventory inv = set.inventory();
        DirtyTracking t = DirtyTracking.FULL_COPY;
        for (DirtyTracking d : DirtyTracking.values()) if (d.label().equals(inv.getDirtyTracking())) t = d;
        this.tracking = t;
        for (DirtyTrackerState s : inv.getDirtyTrackersList()) trackers.put(s.getPid(), s);
        this.advancedBy = advancedBy(dir, inventoryCrc);
        LocalImageChain c;
        try {
            c = LocalImageChain.of(set, false);
            if (c.sets().stream().noneMatch(ImageSet::isDeduplicated)) c = null;
        } catch (RuntimeException e) {
            c = null;
        }
        this.dedupedChain = c;
    }

    /** Opens {@code prev} (checksums of its pages are left to the restore), which must be a pre-dump. */
    static ParentImages open(Path prev, Path imagesDir) {
        Path dir = prev.toAbsolutePath().normalize();
        if (imagesDir != null && dir.equals(imagesDir.toAbsolutePath().normalize())) {
            throw new DumpRefusedException("--prev-images-dir " + prev + " is the images directory itself: give each round its own directory");
        }
        ImageSet set;
        try {
            set = ImageSet.open(dir, false);
        } catch (RuntimeException e) {
            throw new DumpRefusedException("--prev-images-dir " + prev + " is not a usable image set: " + e.getMessage());
        }
        if (!set.isPreDump()) {
            throw new DumpRefusedException("--prev-images-dir " + prev + " is a full dump, not a pre-dump (jmigrate pre-dump)");
        }
        return new ParentImages(dir, set);
    }

    /** The userfaultfd the parent left in {@code pid}, or null. */
    DirtyTrackerState tracker(int pid) { return trackers.get(pid); }

    /** fds of {@code pid} that are ours (the tracker's userfaultfd): not the process's own. */
    Set<Integer> ourFds(int pid) {
        DirtyTrackerState s = trackers.get(pid);
        return s == null ? Set.of() : Set.of(s.getUffdFd());
    }

    /**
     * Pages the parent can give for {@code pid}, or null if it did not pre-dump that process. Pages that
     * --auto-dedup dropped from it, or from the set it leaves them to, are not: a child copies them again. Without
     * dedup anywhere in the chain, every page of the parent's index is (the index is the truth; a page server's
     * shadow marks all its runs in_parent and holds no page, and is never deduplicated).
     */
    PageRanges present(int pid) {
        if (!set.pids().contains(pid) || advancedBy != null) return null;
        if (dedupedChain != null) return dedupedChain.available(pid);
        return set.ownRanges(pid).minus(set.dropped(pid)).union(set.inParentRanges(pid));
    }

    /**
     * The parent and the sets it builds on, opened before any freeze, if one of them was deduplicated by
     * --auto-dedup; else (or if the chain cannot be followed) null.
     */
    private final LocalImageChain dedupedChain;

    /**
     * Takes over the tracker this parent left in {@code pid}, or null if the tracking did not survive (then
     * everything is copied again). soft-dirty continues implicitly; full-copy has nothing to continue.
     */
    DirtyTracker continueTracking(int pid, Consumer<String> progress) {
        if (advancedBy != null && set.pids().contains(pid)) {
            progress.accept("warning: " + advancedBy + " was already built on " + dir + " and harvested its dirty tracking:"
                    + " what PID " + pid + " wrote in between is not known here, so all of it is copied again (build on the"
                    + " newest round of a chain)");
        }
        DirtyTrackerState s = trackers.get(pid);
        if (s != null) {
            try {
                return UffdWpTracker.resume(pid, s);
            } catch (UffdWpTracker.TrackerLostException e) {
                progress.accept("warning: " + e.getMessage() + "; copying all of PID " + pid + " again");
                return null;
            }
        }
        if (tracking == DirtyTracking.SOFT_DIRTY && set.pids().contains(pid)) return SoftDirtyTracker.continuing(pid);
        return null;
    }

    /**
     * Records, durably and before any harvest, that a round writing into {@code by} takes this set's trackers over:
     * a later dump or pre-dump built on this set again then copies everything instead of trusting a tracker that
     * was harvested since (see {@link #TRACKER_ADVANCED}). A failure to record is a warning: this round is fine.
     */
    void markTrackerAdvanced(Path by, Consumer<String> progress) {
        if (trackers.isEmpty() && tracking != DirtyTracking.SOFT_DIRTY) return;     // nothing to advance
        String text = String.format("crc32c=%08x by=%s%n", inventoryCrc, by == null ? "?" : by.toAbsolutePath().normalize());
        try {
            ImageFormat.replaceDurably(dir.resolve(TRACKER_ADVANCED),
                    java.nio.ByteBuffer.wrap(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            ImageFormat.fsyncDirectory(dir);
        } catch (java.io.IOException | RuntimeException e) {
            progress.accept("warning: cannot record in " + dir + " that this round takes its dirty tracking over (" + e
                    + "): do not build another round on " + dir + " after this one");
        }
    }

    /** The round named by this set's {@link #TRACKER_ADVANCED} marker, if it applies to this very set; else null. */
    private static String advancedBy(Path dir, int identity) {
        try {
            String text = java.nio.file.Files.readString(dir.resolve(TRACKER_ADVANCED)).trim();
            if (!text.startsWith(String.format("crc32c=%08x ", identity))) return null;
            return text.substring(text.indexOf("by=") + 3);
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    /** The private-data VMAs of {@code smaps} a tracker watches (the ones whose pages go into the images). */
    static List<SmapsEntry> trackedVmas(int pid, List<SmapsEntry> smaps) {
        var vmas = VmaCollector.collect(pid, smaps, true);
        List<SmapsEntry> out = new java.util.ArrayList<>();
        for (int i = 0; i < vmas.size(); i++) if (VmaCollector.holdsPrivateData(vmas.get(i))) out.add(smaps.get(i));
        return out;
    }

    /** Final dump, frozen: closes a uffd tracker inside the process so nothing of ours is left or dumped. */
    static void closeInProcess(DirtyTracker tracker, RemoteSyscalls inLeader) {
        if (tracker instanceof UffdWpTracker u) u.closeInProcess(inLeader);
        else tracker.close();
    }
}
