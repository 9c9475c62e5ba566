package io.jmigrate.engine.image;

import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.precopy.PageRanges;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A final image set and the pre-dump sets it builds on (parent_dir links), each verified like any image set. Runs
 * marked in_parent are looked up in the parent, then its parent, and so on; the newest copy of a page wins because
 * a page is only left to the parent when it was not written since.
 */
public final class LocalImageChain implements PageSource {
    private static final int MAX_DEPTH = 1000;
    private static final long PAGE = ImageFormat.PAGE_SIZE;

    /** Newest first: the final set, then its parent... */
    private final List<ImageSet> sets;

    private LocalImageChain(List<ImageSet> sets) {
        this.sets = sets;
    }

    /** The chain starting at {@code newest}; every parent is opened and verified ({@code checkPagesCrc} as for it). */
    public static LocalImageChain of(ImageSet newest, boolean checkPagesCrc) {
        List<ImageSet> sets = new ArrayList<>();
        sets.add(newest);
        Set<Path> seen = new HashSet<>();
        seen.add(newest.directory().toAbsolutePath().normalize());
        ImageSet child = newest;
        while (child.parentDir() != null) {
            Path parentDir = child.parentDir();
            if (!seen.add(parentDir.toAbsolutePath().normalize()) || sets.size() > MAX_DEPTH)
                throw new ImageException(child.directory() + " has a parent chain that loops through " + parentDir);
            if (!Files.isDirectory(parentDir))
                throw new ImageException(child.directory() + " builds on " + parentDir + ", which is missing: restore needs the whole pre-dump chain");
            ImageSet parent = ImageSet.open(parentDir, checkPagesCrc);
            if (!parent.isTheSetRecordedAs(child.inventory().getParentInventoryCrc32C()))
                throw new ImageException(child.directory() + " was dumped against another image set than the one now in "
                        + parentDir + " (its inventory changed): the chain is broken");
            sets.add(parent);
            child = parent;
        }
        return new LocalImageChain(List.copyOf(sets));
    }

    public List<ImageSet> sets() { return sets; }

    /**
     * The pages of {@code pid} listed by the newest set that the chain can still give: its own runs (less what
     * --auto-dedup dropped) and the runs it leaves to a parent that can give them, recursively.
     */
    public PageRanges available(int pid) {
        PageRanges avail = PageRanges.EMPTY;
        for (ImageSet set : sets.reversed()) {
            if (!set.pids().contains(pid)) {
                avail = PageRanges.EMPTY;
                continue;
            }
            avail = set.ownRanges(pid).minus(set.dropped(pid)).union(set.inParentRanges(pid).intersect(avail));
        }
        return avail;
    }

    @Override
    public List<LocatedRun> locate(int pid) {
        List<LocatedRun> out = new ArrayList<>();
        for (PageRun r : sets.getFirst().pageIndex(pid).getRunsList()) {
            resolve(pid, 0, r.getVaddr(), r.getVaddr() + r.getNrPages() * PAGE, r, out);
        }
        return out;
    }

    /** Locates [start, end), part of run {@code r} of set {@code depth}, appending in address order. */
    private void resolve(int pid, int depth, long start, long end, PageRun r, List<LocatedRun> out) {
        ImageSet set = sets.get(depth);
        if (!r.getInParent()) {
            PageRanges gone = set.dropped(pid);
            if (gone.overlaps(start, end)) {
                PageRanges hit = gone.intersect(PageRanges.builder().add(start, end).build());
                throw new ImageException(set.directory() + " no longer holds pages 0x" + Long.toHexString(hit.start(0))
                        + "-0x" + Long.toHexString(hit.end(0)) + " of PID " + pid + " that " + sets.getFirst().directory()
                        + " needs: dropped by --auto-dedup; restore the newest set of the chain");
            }
            long off = r.getFileOffset() + (start - r.getVaddr());
            add(out, new LocatedRun(start, (end - start) / PAGE, set.pagesPath(pid), off));
            return;
        }
        if (depth + 1 >= sets.size())
            throw new ImageException(set.directory() + " leaves pages at 0x" + Long.toHexString(start)
                    + " to a parent image set it does not have: the chain is broken");
        ImageSet parent = sets.get(depth + 1);
        List<PageRun> runs = parent.pageIndex(pid).getRunsList();
        long at = start;
        for (int i = firstEndingAfter(runs, start); i < runs.size() && at < end; i++) {
            PageRun p = runs.get(i);
            long pEnd = p.getVaddr() + p.getNrPages() * PAGE;
            if (Long.compareUnsigned(p.getVaddr(), at) > 0) break;      // a hole: caught below
            long to = Long.compareUnsigned(pEnd, end) < 0 ? pEnd : end;
            resolve(pid, depth + 1, at, to, p, out);
            at = to;
        }
        if (at != end)
            throw new ImageException(set.directory() + " leaves pages 0x" + Long.toHexString(at) + "-0x"
                    + Long.toHexString(end) + " of PID " + pid + " to " + parent.directory()
                    + ", which does not have them: the chain is broken");
    }

    /** Index of the first run of {@code runs} (sorted) that ends after {@code addr}. */
    private static int firstEndingAfter(List<PageRun> runs, long addr) {
        int lo = 0, hi = runs.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            PageRun m = runs.get(mid);
            if (Long.compareUnsigned(m.getVaddr() + m.getNrPages() * PAGE, addr) <= 0) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** Appends, merging with the previous run when both lie back to back in memory and in the same file. */
    private static void add(List<LocatedRun> out, LocatedRun run) {
        if (!out.isEmpty()) {
            LocatedRun last = out.getLast();
            if (last.end() == run.vaddr() && last.file().equals(run.file())
                    && last.fileOffset() + last.nrPages() * PAGE == run.fileOffset()) {
                out.set(out.size() - 1, new LocatedRun(last.vaddr(), last.nrPages() + run.nrPages(), last.file(), last.fileOffset()));
                return;
            }
        }
        out.add(run);
    }
}
