package io.jmigrate.engine.image;

import io.jmigrate.engine.image.proto.DroppedPages;
import io.jmigrate.engine.image.proto.ImageFile;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.precopy.PageRanges;
import io.jmigrate.engine.sys.FileSpace;
import io.jmigrate.engine.sys.Files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * --auto-dedup: after a new image set of a pre-copy chain is committed, the pages it (or any set between it and an
 * older set) holds itself are dropped from the older sets' pages files, so a chain keeps one copy of a page that
 * was written again. Restoring the newest set never reads a dropped page: it takes each page from the newest set
 * that holds it.
 *
 * <p>Each older set is changed in two steps, so that a crash anywhere leaves it valid (docs/pre-copy.md):
 * <ol>
 *   <li>{@link #markDropped}: one atomic rename of a new inventory.img that lists the dropped pages and records
 *   each pages file's CRC32C as if they were zeros. Nothing else of the set changes.</li>
 *   <li>{@link #punch}: fallocate(PUNCH_HOLE) of every dropped page, then fsync. Idempotent: before, during and
 *   after it the file verifies, since the dropped pages count as zeros.</li>
 * </ol>
 */
public final class AutoDedup {
    private static final long PAGE = ImageFormat.PAGE_SIZE;

    private AutoDedup() {}

    /** What a dedup did to one older set. */
    public record SetResult(Path dir, long pagesDropped, long bytesFreed, String failure) {}

    /**
     * Deduplicates the chain below {@code newestDir} (a committed set). Never throws for a problem with an older
     * set: each failure is reported (and leaves that set valid) and the next set is still tried.
     */
    public static List<SetResult> run(Path newestDir, Consumer<String> progress) {
        List<SetResult> results = new ArrayList<>();
        ImageSet child;
        try {
            child = ImageSet.open(newestDir, false);
        } catch (RuntimeException e) {
            progress.accept("warning: --auto-dedup skipped: " + e.getMessage());
            return results;
        }
        if (child.parentDir() == null) {
            progress.accept("auto-dedup: " + newestDir + " has no parent set (no --prev-images-dir): nothing to drop");
            return results;
        }
        // What the sets newer than the one being deduplicated hold themselves: the newest set, then each parent in turn
        Map<Integer, PageRanges> heldAbove = new HashMap<>();
        addHeld(heldAbove, child);
        for (int depth = 0; child.parentDir() != null && depth < 1000; depth++) {
            Path dir = child.parentDir();
            ImageSet set;
            int lock;
            try {
                // two dedups of one set at once would each rename an inventory missing the other's dropped pages
                lock = FileSpace.lockDirectory(dir.toString());
            } catch (RuntimeException e) {
                results.add(warn(progress, dir, "cannot lock it: " + e.getMessage()));
                break;
            }
            try {
                try {
                    set = ImageSet.open(dir, false);
                } catch (RuntimeException e) {
                    results.add(warn(progress, dir, "cannot open it: " + e.getMessage()));
                    break;
                }
                if (!set.isTheSetRecordedAs(child.inventory().getParentInventoryCrc32C())) {
                    results.add(warn(progress, dir, child.directory() + " was dumped against another image set than the"
                            + " one now there; the older sets are left alone"));
                    break;
                }
                set = dedupOne(set, heldAbove, progress, results);
            } finally {
                Files.closeQuietly(lock);
            }
            addHeld(heldAbove, set);
            child = set;
        }
        return results;
    }

    /** Both phases on one locked, verified older set; returns it as it is now. */
    private static ImageSet dedupOne(ImageSet set, Map<Integer, PageRanges> heldAbove, Consumer<String> progress,
                                     List<SetResult> results) {
        Path dir = set.directory();
        try {
            Map<Integer, PageRanges> drop = new TreeMap<>();
            for (int pid : set.pids()) {
                PageRanges above = heldAbove.get(pid);
                if (above == null || !hasPages(set, pid)) continue;
                PageRanges newlyDropped = set.ownRanges(pid).minus(set.dropped(pid)).intersect(above);
                if (newlyDropped.size() > 0) drop.put(pid, newlyDropped);
            }
            long started = System.nanoTime();
            long before = allocatedBytes(set);
            long pages = 0;
            for (PageRanges r : drop.values()) pages += r.pages();
            ImageSet marked = drop.isEmpty() ? set : markDropped(set, drop);
            punch(marked);
            long freed = before - allocatedBytes(marked);
            progress.accept(String.format("auto-dedup: %s: %d pages dropped (held by a newer set), %.1f MiB freed in %.0f ms",
                    dir, pages, freed / 1048576.0, (System.nanoTime() - started) / 1e6));
            results.add(new SetResult(dir, pages, freed, null));
            return marked;
        } catch (RuntimeException e) {
            results.add(warn(progress, dir, e.getMessage()));
            return set;
        }
    }

    private static SetResult warn(Consumer<String> progress, Path dir, String why) {
        progress.accept("warning: --auto-dedup of " + dir + " failed (the set is unchanged or validly deduplicated;"
                + " the new set is complete): " + why);
        return new SetResult(dir, 0, 0, why);
    }

    private static boolean hasPages(ImageSet set, int pid) {
        return set.inventory().getFilesList().stream().anyMatch(f -> f.getName().equals(ImageKind.PAGES.fileName(pid)));
    }

    private static void addHeld(Map<Integer, PageRanges> held, ImageSet set) {
        for (int pid : set.pids()) {
            if (!hasPages(set, pid)) continue;
            PageRanges own = set.ownRanges(pid).minus(set.dropped(pid));
            held.merge(pid, own, PageRanges::union);
        }
    }

    private static long allocatedBytes(ImageSet set) {
        long sum = 0;
        for (int pid : set.pids()) if (hasPages(set, pid)) sum += FileSpace.allocatedBytes(set.pagesPath(pid).toString());
        return sum;
    }

    /**
     * Phase A: commits, by one rename of inventory.img, that {@code set} no longer holds {@code drop} (pages of
     * its own runs, per pid). Each changed pages file is read once: its CRC with the already dropped pages as zeros
     * must still match the inventory (a corrupt file is not blessed with a new checksum), and its CRC with the
     * new dropped pages as zeros is recorded. Returns the set as reopened (verified) from disk.
     */
    static ImageSet markDropped(ImageSet set, Map<Integer, PageRanges> drop) {
        Path dir = set.directory();
        Inventory old = set.inventory();
        Map<Integer, PageRanges> allDropped = new TreeMap<>();
        for (int pid : set.pids()) {
            PageRanges d = set.dropped(pid).union(drop.getOrDefault(pid, PageRanges.EMPTY));
            if (d.size() > 0) allDropped.put(pid, d);
        }
        Inventory.Builder inv = old.toBuilder().clearDroppedPages().setDeduplicated(true)
                .setOriginInventoryCrc32C(set.identityCrc());
        allDropped.forEach((pid, ranges) -> {
            for (int i = 0; i < ranges.size(); i++)
                inv.addDroppedPages(DroppedPages.newBuilder().setPid(pid).setVaddr(ranges.start(i))
                        .setNrPages((ranges.end(i) - ranges.start(i)) / PAGE));
        });
        for (int i = 0; i < inv.getFilesCount(); i++) {
            ImageFile f = inv.getFiles(i);
            if (ImageKind.ofFileName(f.getName()) != ImageKind.PAGES) continue;
            int pid = ImageKind.pidOf(f.getName());
            if (!drop.containsKey(pid)) continue;
            int[] crcs = pagesCrcs(set, pid, set.droppedFileRanges(pid, set.dropped(pid)),
                    set.droppedFileRanges(pid, allDropped.get(pid)));
            if (crcs[0] != f.getCrc32C())
                throw new ImageException(dir.resolve(f.getName()) + " checksum mismatch: the file is corrupt; not deduplicated");
            inv.setFiles(i, f.toBuilder().setCrc32C(crcs[1]));
        }
        writeInventory(dir, inv.build());
        return ImageSet.open(dir, false);
    }

    /** Whole-file CRC32C of pages-PID.img with {@code zerosBefore}, and with {@code zerosAfter}, read as zeros. */
    private static int[] pagesCrcs(ImageSet set, int pid, List<long[]> zerosBefore, List<long[]> zerosAfter) {
        Path file = set.pagesPath(pid);
        long payload = set.pagesBytes(pid);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate((int) ImageFormat.PAGES_DATA_OFFSET);
            ImageFormat.readFully(ch, head, 0, file);
            CRC32C headCrc = new CRC32C();
            headCrc.update(head.flip());
            int h = (int) headCrc.getValue();
            // two passes over the file: simple, and the second is served by the page cache
            int before = ImageSet.crc32cOfRange(ch, ImageFormat.PAGES_DATA_OFFSET, payload, file, zerosBefore);
            int after = ImageSet.crc32cOfRange(ch, ImageFormat.PAGES_DATA_OFFSET, payload, file, zerosAfter);
            return new int[] {ImageFormat.crc32cCombine(h, before, payload), ImageFormat.crc32cCombine(h, after, payload)};
        } catch (IOException e) {
            throw new ImageException("cannot read " + file + ": " + e, e);
        }
    }

    /** inventory.img.tmp, fsync, rename over inventory.img, fsync the directory: the one commit point of phase A. */
    private static void writeInventory(Path dir, Inventory inv) {
        try {
            ImageFormat.replaceDurably(dir.resolve(ImageKind.INVENTORY.fileName(0)),
                    ByteBuffer.wrap(ImageWriter.fileBytes(ImageKind.INVENTORY, inv)));
        } catch (IOException e) {
            throw new ImageException("cannot rewrite " + dir.resolve("inventory.img") + ": " + e, e);
        }
        ImageFormat.fsyncDirectory(dir);
    }

    /** Phase B: punches every dropped page of {@code set} out of its pages files, then fsyncs them. Idempotent. */
    static void punch(ImageSet set) {
        for (int pid : set.pids()) {
            if (!hasPages(set, pid) || set.dropped(pid).size() == 0) continue;
            String path = set.pagesPath(pid).toString();
            int fd = Files.open(path, Files.O_WRONLY | Files.O_CLOEXEC);
            try {
                for (long[] r : set.droppedFileRanges(pid, set.dropped(pid))) FileSpace.punchHole(fd, path, r[0], r[1]);
                FileSpace.fsync(fd, path);
            } finally {
                Files.closeQuietly(fd);
            }
        }
    }
}
