package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The PAGEMAP_SCAN ioctl on /proc/PID/pagemap (Linux 6.7): page ranges by category, and with PM_SCAN_WP_MATCHING
 * the written pages of a uffd-wp async range, re-protected in the same walk. This is how dirty pages are found on
 * a kernel without soft-dirty.
 */
public final class PagemapScan {
    public static final long PAGEMAP_SCAN = 0xC0606610L;   // _IOWR('f', 16, struct pm_scan_arg)

    public static final long PM_SCAN_WP_MATCHING = 1L << 0, PM_SCAN_CHECK_WPASYNC = 1L << 1;

    public static final long PAGE_IS_WPALLOWED = 1L << 0, PAGE_IS_WRITTEN = 1L << 1, PAGE_IS_FILE = 1L << 2,
            PAGE_IS_PRESENT = 1L << 3, PAGE_IS_SWAPPED = 1L << 4, PAGE_IS_PFNZERO = 1L << 5, PAGE_IS_HUGE = 1L << 6,
            PAGE_IS_SOFT_DIRTY = 1L << 7, PAGE_IS_GUARD = 1L << 8;
    private static final String[] CATEGORY_NAMES = {"WPALLOWED", "WRITTEN", "FILE", "PRESENT", "SWAPPED", "PFNZERO",
            "HUGE", "SOFT_DIRTY", "GUARD"};

    /** struct pm_scan_arg. */
    public static final StructLayout PM_SCAN_ARG = MemoryLayout.structLayout(
            JAVA_LONG.withName("size"), JAVA_LONG.withName("flags"), JAVA_LONG.withName("start"),
            JAVA_LONG.withName("end"), JAVA_LONG.withName("walk_end"), JAVA_LONG.withName("vec"),
            JAVA_LONG.withName("vec_len"), JAVA_LONG.withName("max_pages"), JAVA_LONG.withName("category_inverted"),
            JAVA_LONG.withName("category_mask"), JAVA_LONG.withName("category_anyof_mask"),
            JAVA_LONG.withName("return_mask"));
    /** struct page_region {u64 start, end, categories}. */
    public static final StructLayout PAGE_REGION = MemoryLayout.structLayout(
            JAVA_LONG.withName("start"), JAVA_LONG.withName("end"), JAVA_LONG.withName("categories"));

    private static final long SIZE = offset("size"), FLAGS = offset("flags"), START = offset("start"),
            END = offset("end"), WALK_END = offset("walk_end"), VEC = offset("vec"), VEC_LEN = offset("vec_len"),
            MAX_PAGES = offset("max_pages"), CATEGORY_INVERTED = offset("category_inverted"),
            CATEGORY_MASK = offset("category_mask"), CATEGORY_ANYOF_MASK = offset("category_anyof_mask"),
            RETURN_MASK = offset("return_mask");
    private static final long REGION_SIZE = PAGE_REGION.byteSize();
    private static final int SYS_IOCTL = 16;

    static {
        if (((PAGEMAP_SCAN >>> 16) & 0x3fff) != PM_SCAN_ARG.byteSize() || PM_SCAN_ARG.byteSize() != 96
                || REGION_SIZE != 24) {
            throw new ExceptionInInitializerError("pm_scan_arg/page_region layouts do not match PAGEMAP_SCAN");
        }
    }

    private PagemapScan() {}

    /** Names of the set PAGE_IS_* bits (without the prefix), lowest bit first; unknown bits as "bit N". */
    public static List<String> categoryNames(long categories) {
        List<String> names = new ArrayList<>();
        for (int bit = 0; bit < 64; bit++) {
            if ((categories & (1L << bit)) != 0) {
                names.add(bit < CATEGORY_NAMES.length ? CATEGORY_NAMES[bit] : "bit " + bit);
            }
        }
        return names;
    }

    /**
     * A reusable scan: owns the argument struct and a vector of {@code capacity} regions, so scanning allocates
     * nothing unless it fails. Not thread-safe; results stay valid until the next scan. The walk stops early when
     * the vector fills (or max_pages is reached): then {@link #walkEnd()} is below the requested end and the caller
     * scans again from there.
     */
    public static final class Scanner implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment arg;
        private final MemorySegment vec;
        private final int capacity;
        private int count;

        public Scanner(int capacity) {
            if (capacity < 1) throw new IllegalArgumentException("capacity " + capacity);
            this.capacity = capacity;
            this.arg = arena.allocate(PM_SCAN_ARG);
            this.vec = arena.allocate(PAGE_REGION, capacity);
            arg.set(JAVA_LONG, SIZE, PM_SCAN_ARG.byteSize());
            arg.set(JAVA_LONG, VEC, vec.address());
            arg.set(JAVA_LONG, VEC_LEN, capacity);
        }

        /**
         * Scans [start, end) of the address space behind {@code pagemapFd}: pages whose categories contain all of
         * {@code categoryMask} and (if non-zero) any of {@code anyofMask}; each region reports its categories
         * masked by {@code returnMask}. Returns the number of regions.
         */
        public int scan(int pagemapFd, long start, long end, long flags, long categoryMask, long anyofMask,
                        long returnMask) {
            return scan(pagemapFd, start, end, flags, 0, categoryMask, anyofMask, returnMask, 0);
        }

        /** The full form: categories in {@code categoryInverted} are negated before matching; {@code maxPages} 0 is no limit. */
        public int scan(int pagemapFd, long start, long end, long flags, long categoryInverted, long categoryMask,
                        long anyofMask, long returnMask, long maxPages) {
            count = 0;
            arg.set(JAVA_LONG, FLAGS, flags);
            arg.set(JAVA_LONG, START, start);
            arg.set(JAVA_LONG, END, end);
            arg.set(JAVA_LONG, WALK_END, 0);
            arg.set(JAVA_LONG, MAX_PAGES, maxPages);
            arg.set(JAVA_LONG, CATEGORY_INVERTED, categoryInverted);
            arg.set(JAVA_LONG, CATEGORY_MASK, categoryMask);
            arg.set(JAVA_LONG, CATEGORY_ANYOF_MASK, anyofMask);
            arg.set(JAVA_LONG, RETURN_MASK, returnMask);
            long r = Libc.syscallRaw(SYS_IOCTL, pagemapFd, PAGEMAP_SCAN, arg.address(), 0, 0, 0);
            if (r < 0) {
                throw new ErrnoException("ioctl(PAGEMAP_SCAN, 0x" + Long.toHexString(start) + "-0x"
                        + Long.toHexString(end) + ", flags " + flags + ")", (int) -r);
            }
            count = (int) r;
            return count;
        }

        /** Regions found by the last scan. */
        public int count() { return count; }

        public int capacity() { return capacity; }

        public long start(int index) { return region(index, 0); }

        public long end(int index) { return region(index, 8); }

        public long categories(int index) { return region(index, 16); }

        /** Pages in region {@code index}. */
        public long pages(int index) { return (end(index) - start(index)) / Mman.PAGE_SIZE; }

        /** Pages in all regions of the last scan. */
        public long totalPages() {
            long pages = 0;
            for (int i = 0; i < count; i++) pages += pages(i);
            return pages;
        }

        /** Where the kernel's walk stopped: the requested end unless the vector filled or max_pages was reached. */
        public long walkEnd() { return arg.get(JAVA_LONG, WALK_END); }

        @Override public void close() { arena.close(); }

        private long region(int index, long field) {
            if (index < 0 || index >= count) throw new IndexOutOfBoundsException(index + " of " + count + " regions");
            return vec.get(JAVA_LONG, index * REGION_SIZE + field);
        }
    }

    private static long offset(String field) {
        return PM_SCAN_ARG.byteOffset(groupElement(field));
    }
}
