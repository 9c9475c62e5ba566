package io.jmigrate.engine.precopy;

/**
 * The figures of one pre-copy round of one process, published as an event for progress display and used by the
 * {@link ConvergencePolicy}.
 *
 * @param pid            the process
 * @param round          1 for the first round (which copies everything present), then 2, 3...
 * @param pagesScanned   pages of private memory looked at
 * @param dirtyPages     pages the tracker reported written since the previous round (all of them in round 1)
 * @param pagesCopied    pages copied this round (present and dirty, or not in the previous round)
 * @param durationNanos  harvest plus copy
 * @param intervalNanos  time since the previous round's harvest (0 in round 1)
 */
public record RoundStats(int pid, int round, long pagesScanned, long dirtyPages, long pagesCopied, long durationNanos,
                         long intervalNanos) {
    /** Pages written per second between the previous harvest and this one; 0 when unknown (round 1). */
    public double dirtyPagesPerSecond() {
        return intervalNanos <= 0 ? 0 : dirtyPages * 1e9 / intervalNanos;
    }

    public String describe() {
        return String.format("round %d of PID %d: scanned %d pages, %d dirty, copied %d (%.1f MiB) in %.1f ms, dirty rate %.1f MiB/s",
                round, pid, pagesScanned, dirtyPages, pagesCopied, pagesCopied * 4096 / 1048576.0, durationNanos / 1e6,
                dirtyPagesPerSecond() * 4096 / 1048576.0);
    }
}
