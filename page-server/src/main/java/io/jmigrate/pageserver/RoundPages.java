package io.jmigrate.pageserver;

import io.jmigrate.engine.image.ImageException;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.LocalImageChain;
import io.jmigrate.engine.image.PageSource.LocatedRun;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.transport.ServedPages;
import io.jmigrate.transport.TransportException;
import io.jmigrate.transport.Wire;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A committed round's memory for lazy-page requests, parent chain included: a page the round left to the round it
 * builds on (pre-copy) is served from there, as a restore would find it. Pages files are mapped read-only. A range
 * inside one located run is served straight from the mapping; one that spans runs (or rounds) is gathered into a
 * scratch buffer. A range with any page the chain does not hold is refused.
 */
final class RoundPages implements ServedPages {
    private final ImageSet set;
    private final LocalImageChain chain;    // null when the chain is incomplete here: only the round's own pages
    private final String chainProblem;
    private final Arena arena = Arena.ofShared();
    private final Map<Path, MemorySegment> mapped = new HashMap<>();
    private final Map<Integer, List<LocatedRun>> located = new HashMap<>();
    private MemorySegment scratch;

    RoundPages(Path dir) {
        try {
            this.set = ImageSet.open(dir, false);
        } catch (ImageException e) {
            throw new TransportException("cannot serve pages: " + e.getMessage());
        }
        LocalImageChain c = null;
        String problem = null;
        try {
            c = LocalImageChain.of(set, false);
        } catch (ImageException e) {   // e.g. a set sent with send-images whose parent stayed on the sending host
            problem = e.getMessage();
        }
        this.chain = c;
        this.chainProblem = problem;
    }

    @Override
    public synchronized MemorySegment pages(int pid, long vaddr, int nrPages) {
        if (!set.pids().contains(pid)) throw new TransportException("round " + set.directory().getFileName() + " has no process " + pid);
        List<LocatedRun> runs = located.computeIfAbsent(pid, p -> {
            try {
                return chain != null ? chain.locate(p) : ownRuns(p);
            } catch (ImageException e) {
                throw new TransportException("cannot serve pid " + p + " of round " + set.directory().getFileName() + ": " + e.getMessage());
            }
        });
        long size = (long) nrPages * Wire.PAGE_SIZE;
        int i = find(runs, vaddr);
        if (i >= 0 && vaddr + size <= runs.get(i).end()) {
            LocatedRun r = runs.get(i);
            return map(r.file()).asSlice(r.fileOffset() + (vaddr - r.vaddr()), size);
        }
        if (scratch == null || scratch.byteSize() < size) scratch = arena.allocate(Math.max(size, 1 << 20), Wire.PAGE_SIZE);
        for (long done = 0; done < size; ) {
            long at = vaddr + done;
            int k = find(runs, at);
            if (k < 0) throw missing(pid, at);
            LocatedRun r = runs.get(k);
            long n = Math.min(size - done, r.end() - at);
            MemorySegment.copy(map(r.file()), r.fileOffset() + (at - r.vaddr()), scratch, done, n);
            done += n;
        }
        return scratch.asSlice(0, size);
    }

    /** The pages this round holds itself, for a round whose parent chain is not usable here. */
    private List<LocatedRun> ownRuns(int pid) {
        List<LocatedRun> out = new java.util.ArrayList<>();
        for (PageRun r : set.heldRuns(pid))
            if (!r.getInParent()) out.add(new LocatedRun(r.getVaddr(), r.getNrPages(), set.pagesPath(pid), r.getFileOffset()));
        return out;
    }

    /** The refusal for a page none of the rounds here holds, saying why when the round leaves it to a parent. */
    private TransportException missing(int pid, long vaddr) {
        String where = "pid " + pid + " page 0x" + Long.toHexString(vaddr) + " is not in round " + set.directory().getFileName();
        if (chain != null) return new TransportException(where + (chain.sets().size() > 1 ? " nor in the rounds it builds on" : ""));
        if (set.inParentRanges(pid).contains(vaddr))
            return new TransportException(where + " (it is left to a parent round this page server cannot use: "
                    + chainProblem + ")");
        return new TransportException(where);
    }

    private MemorySegment map(Path file) {
        return mapped.computeIfAbsent(file, f -> {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            } catch (IOException e) {
                throw new TransportException("cannot map " + f + ": " + e.getMessage());
            }
        });
    }

    /** Index of the run holding {@code vaddr}, or -1. */
    private static int find(List<LocatedRun> runs, long vaddr) {
        int lo = 0, hi = runs.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            LocatedRun r = runs.get(mid);
            if (Long.compareUnsigned(vaddr, r.vaddr()) < 0) hi = mid - 1;
            else if (Long.compareUnsigned(vaddr, r.end()) >= 0) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    @Override
    public synchronized void close() {
        arena.close();
    }
}
