package io.jmigrate.engine.proc;

/**
 * Decoding of one 64-bit word of /proc/PID/pagemap (Documentation/admin-guide/mm/pagemap.rst).
 *
 * <p>The PFN reads as 0 unless the reader has CAP_SYS_ADMIN; the flag bits are always real.
 */
public final class PagemapEntry {
    public static final long PRESENT = 1L << 63;
    public static final long SWAPPED = 1L << 62;
    public static final long FILE_OR_SHARED_ANON = 1L << 61;
    /** Since 6.15: the PTE is a guard region installed with madvise(MADV_GUARD_INSTALL). */
    public static final long GUARD_REGION = 1L << 58;
    public static final long UFFD_WP = 1L << 57;
    public static final long EXCLUSIVE = 1L << 56;
    public static final long SOFT_DIRTY = 1L << 55;
    public static final long PFN_MASK = (1L << 55) - 1;

    private PagemapEntry() {}

    public static boolean present(long word) { return (word & PRESENT) != 0; }

    public static boolean swapped(long word) { return (word & SWAPPED) != 0; }

    /** Page cache of a file, or shmem behind a shared anonymous mapping; clear for private anonymous pages. */
    public static boolean fileOrSharedAnon(long word) { return (word & FILE_OR_SHARED_ANON) != 0; }

    public static boolean guardRegion(long word) { return (word & GUARD_REGION) != 0; }

    public static boolean uffdWriteProtected(long word) { return (word & UFFD_WP) != 0; }

    /**
     * Mapped by exactly this page table entry. A private page still shared copy-on-write with a fork child is not
     * exclusive, which is how the dump tells it must not assume the page is private to the process.
     */
    public static boolean exclusive(long word) { return (word & EXCLUSIVE) != 0; }

    public static boolean softDirty(long word) { return (word & SOFT_DIRTY) != 0; }

    /** Page frame number (bits 0-54) of a present page. */
    public static long pfn(long word) { return word & PFN_MASK; }

    /** Swap type (bits 0-4) of a swapped page. */
    public static int swapType(long word) { return (int) (word & 0x1f); }

    /** Offset in the swap area (bits 5-54) of a swapped page. */
    public static long swapOffset(long word) { return (word & PFN_MASK) >>> 5; }

    /** Present or swapped: the page has contents that a dump must save. */
    public static boolean populated(long word) { return (word & (PRESENT | SWAPPED)) != 0; }

    /** A short description for messages, e.g. {@code present file excl pfn=0x12d20d}. */
    public static String describe(long word) {
        var text = new StringBuilder();
        if (present(word)) text.append("present");
        else if (swapped(word)) text.append("swapped");
        else text.append("none");
        if (fileOrSharedAnon(word)) text.append(" file");
        if (exclusive(word)) text.append(" excl");
        if (softDirty(word)) text.append(" soft-dirty");
        if (uffdWriteProtected(word)) text.append(" uffd-wp");
        if (guardRegion(word)) text.append(" guard");
        if (present(word)) text.append(" pfn=0x").append(Long.toHexString(pfn(word)));
        else if (swapped(word)) text.append(" swap=").append(swapType(word)).append(":0x").append(Long.toHexString(swapOffset(word)));
        return text.toString();
    }
}
