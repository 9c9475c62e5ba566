package io.jmigrate.engine.precopy;

import java.util.Arrays;

/**
 * A set of page-aligned address ranges, sorted and merged: what a dirty tracker reports and what an image set
 * holds. Immutable once built; {@link #contains} is a binary search.
 */
public final class PageRanges {
    public static final PageRanges EMPTY = new PageRanges(new long[0], new long[0]);
    private static final long PAGE = 4096;

    private final long[] starts;
    private final long[] ends;

    private PageRanges(long[] starts, long[] ends) {
        this.starts = starts;
        this.ends = ends;
    }

    public static Builder builder() { return new Builder(); }

    /** Collects ranges in any order; {@link #build} sorts and merges overlapping or touching ones. */
    public static final class Builder {
        private long[] starts = new long[64];
        private long[] ends = new long[64];
        private int n;

        public Builder add(long start, long end) {
            if (end <= start) return this;
            if (n == starts.length) {
                starts = Arrays.copyOf(starts, n * 2);
                ends = Arrays.copyOf(ends, n * 2);
            }
            starts[n] = start;
            ends[n] = end;
            n++;
            return this;
        }

        public Builder addAll(PageRanges other) {
            for (int i = 0; i < other.size(); i++) add(other.start(i), other.end(i));
            return this;
        }

        public PageRanges build() {
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> Long.compareUnsigned(starts[a], starts[b]));
            long[] s = new long[n], e = new long[n];
            int m = 0;
            for (int k = 0; k < n; k++) {
                int i = order[k];
                if (m > 0 && Long.compareUnsigned(starts[i], e[m - 1]) <= 0) {
                    if (Long.compareUnsigned(ends[i], e[m - 1]) > 0) e[m - 1] = ends[i];
                } else {
                    s[m] = starts[i];
                    e[m] = ends[i];
                    m++;
                }
            }
            return new PageRanges(Arrays.copyOf(s, m), Arrays.copyOf(e, m));
        }
    }

    public int size() { return starts.length; }

    public long start(int i) { return starts[i]; }

    public long end(int i) { return ends[i]; }

    public boolean contains(long addr) {
        int lo = 0, hi = starts.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(addr, starts[mid]) < 0) hi = mid - 1;
            else if (Long.compareUnsigned(addr, ends[mid]) >= 0) lo = mid + 1;
            else return true;
        }
        return false;
    }

    /**
     * A reader for addresses asked in increasing order (a walk over a process's VMAs): each question costs O(1)
     * amortized instead of a binary search. Asking about a lower address than before starts over.
     */
    public final class Cursor {
        private int i;
        private long last = 0;

        public boolean contains(long addr) {
            if (Long.compareUnsigned(addr, last) < 0) i = 0;
            last = addr;
            while (i < starts.length && Long.compareUnsigned(ends[i], addr) <= 0) i++;
            return i < starts.length && Long.compareUnsigned(starts[i], addr) <= 0;
        }

        /** The first address above {@code addr} where {@link #contains} changes; Long.MAX_VALUE if none. */
        public long nextChange(long addr) {
            boolean inside = contains(addr);
            if (i >= starts.length) return Long.MAX_VALUE;
            return inside ? ends[i] : starts[i];
        }
    }

    public Cursor cursor() { return new Cursor(); }

    /** Pages covered. */
    public long pages() {
        long p = 0;
        for (int i = 0; i < starts.length; i++) p += (ends[i] - starts[i]) / PAGE;
        return p;
    }

    /** Pages of this set inside [start, end). */
    public long pagesWithin(long start, long end) {
        long p = 0;
        for (int i = 0; i < starts.length; i++) {
            long s = Math.max(starts[i], start), e = Math.min(ends[i], end);
            if (e > s) p += (e - s) / PAGE;
        }
        return p;
    }

    /** The addresses in both this and {@code other}. */
    public PageRanges intersect(PageRanges other) {
        Builder b = builder();
        int i = 0, j = 0;
        while (i < starts.length && j < other.starts.length) {
            long s = Math.max(starts[i], other.starts[j]), e = Math.min(ends[i], other.ends[j]);
            b.add(s, e);
            if (ends[i] < other.ends[j]) i++;
            else j++;
        }
        return b.build();
    }

    /** The addresses in this and not in {@code other}. */
    public PageRanges minus(PageRanges other) {
        Builder b = builder();
        int j = 0;
        for (int i = 0; i < starts.length; i++) {
            long at = starts[i];
            while (j < other.starts.length && other.ends[j] <= at) j++;
            for (int k = j; k < other.starts.length && other.starts[k] < ends[i]; k++) {
                b.add(at, other.starts[k]);
                at = Math.max(at, other.ends[k]);
            }
            b.add(at, ends[i]);
        }
        return b.build();
    }

    /** The addresses in this or in {@code other}. */
    public PageRanges union(PageRanges other) {
        return builder().addAll(this).addAll(other).build();
    }

    /** True if some address of [start, end) is in this set. */
    public boolean overlaps(long start, long end) {
        return pagesWithin(start, end) > 0;
    }

    @Override public String toString() {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < starts.length && i < 8; i++) {
            if (i > 0) b.append(", ");
            b.append("0x").append(Long.toHexString(starts[i])).append("-0x").append(Long.toHexString(ends[i]));
        }
        if (starts.length > 8) b.append(", ... ").append(starts.length).append(" ranges");
        return b.append("]").toString();
    }
}
