package io.jmigrate.engine.check;

/** How pages written since the last pre-dump pass are found, best first. */
public enum DirtyTracking {
    /** userfaultfd write-protect in async mode, harvested and re-armed by the PAGEMAP_SCAN ioctl (Linux 6.7+). */
    UFFD_WP_ASYNC("uffd-wp-async"),
    /** clear_refs "4" then pagemap bit 55 (kernels built with CONFIG_MEM_SOFT_DIRTY). */
    SOFT_DIRTY("soft-dirty"),
    /** No tracking: every pass copies all memory again. */
    FULL_COPY("full-copy");

    private final String label;

    DirtyTracking(String label) { this.label = label; }

    public String label() { return label; }

    /** The best backend these facts allow. */
    public static DirtyTracking choose(boolean uffdWpAsync, boolean pagemapScan, boolean softDirty) {
        return new TrackingCapabilities(uffdWpAsync, pagemapScan, softDirty).best();
    }

    @Override public String toString() { return label; }
}
