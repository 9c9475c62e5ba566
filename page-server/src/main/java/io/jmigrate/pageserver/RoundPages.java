package io.jmigrate.pageserver;

import io.jmigrate.engine.image.ImageException;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.PagesReader;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.transport.ServedPages;
import io.jmigrate.transport.TransportException;
import io.jmigrate.transport.Wire;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A committed round's memory for lazy-page requests: pages files mapped read-only, runs looked up by address. A
 * range inside one run is served straight from the mapping; one that spans several runs is gathered into a scratch
 * buffer. A range with any page the round does not hold, or leaves to its parent round, is refused.
 */
final class RoundPages implements ServedPages {
    private final ImageSet set;
    private final Arena arena = Arena.ofShared();
    private final Map<Integer, MemorySegment> mapped = new HashMap<>();
    private MemorySegment scratch;

    RoundPages(Path dir) {
        try {
            this.set = ImageSet.open(dir, false);
        } catch (ImageException e) {
            throw new TransportException("cannot serve pages: " + e.getMessage());
        }
    }

    @Override
    public synchronized MemorySegment pages(int pid, long vaddr, int nrPages) {
        if (!set.pids().contains(pid)) throw new TransportException("round " + set.directory().getFileName() + " has no process " + pid);
        List<PageRun> runs = set.pageIndex(pid).getRunsList();
        MemorySegment data = mapped.computeIfAbsent(pid, p -> {
            try (PagesReader r = set.openPages(p)) {
                return r.mapData(arena);
            }
        });
        long size = (long) nrPages * Wire.PAGE_SIZE;
        int i = find(runs, vaddr);
        if (i >= 0 && !runs.get(i).getInParent()) {
            PageRun r = runs.get(i);
            long end = r.getVaddr() + r.getNrPages() * Wire.PAGE_SIZE;
            if (vaddr + size <= end)
                return data.asSlice(r.getFileOffset() - set.pagesDataOffset() + (vaddr - r.getVaddr()), size);
        }
        if (scratch == null || scratch.byteSize() < size) scratch = arena.allocate(Math.max(size, 1 << 20), Wire.PAGE_SIZE);
        for (long done = 0; done < size; ) {
            long at = vaddr + done;
            int k = find(runs, at);
            if (k < 0) throw new TransportException("pid " + pid + " page 0x" + Long.toHexString(at) + " is not in round "
                    + set.directory().getFileName());
            PageRun r = runs.get(k);
            // lazy pages do not follow the chain (yet): a page left to the parent round is asked of that round
            if (r.getInParent()) throw new TransportException("pid " + pid + " page 0x" + Long.toHexString(at) + " is left to"
                    + " the parent of round " + set.directory().getFileName() + ": ask " + set.parentDir().getFileName());
            long n = Math.min(size - done, r.getVaddr() + r.getNrPages() * Wire.PAGE_SIZE - at);
            MemorySegment.copy(data, r.getFileOffset() - set.pagesDataOffset() + (at - r.getVaddr()), scratch, done, n);
            done += n;
        }
        return scratch.asSlice(0, size);
    }

    /** Index of the run holding {@code vaddr}, or -1. */
    private static int find(List<PageRun> runs, long vaddr) {
        int lo = 0, hi = runs.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            PageRun r = runs.get(mid);
            if (Long.compareUnsigned(vaddr, r.getVaddr()) < 0) hi = mid - 1;
            else if (Long.compareUnsigned(vaddr, r.getVaddr() + r.getNrPages() * Wire.PAGE_SIZE) >= 0) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    @Override
    public synchronized void close() {
        arena.close();
    }

}
