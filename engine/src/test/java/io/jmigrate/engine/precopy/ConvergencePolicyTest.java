package io.jmigrate.engine.precopy;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.jmigrate.engine.precopy.ConvergencePolicy.Decision.ANOTHER_ROUND;
import static io.jmigrate.engine.precopy.ConvergencePolicy.Decision.DIRTY_RATE_OUTRUNS_LINK;
import static io.jmigrate.engine.precopy.ConvergencePolicy.Decision.FREEZE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The decisions with worked figures: 1 GiB over a 1 GB/s link, a 30 ms budget. */
class ConvergencePolicyTest {
    private static final double GBPS = 1e9;
    private static final long MS = 1_000_000;
    private final ConvergencePolicy policy = ConvergencePolicy.of(GBPS, Duration.ofMillis(30));

    /** Round {@code n} found {@code dirty} pages over {@code intervalMs}, copied {@code copied} in {@code durationMs}. */
    private static RoundStats round(int n, long dirty, long copied, long durationMs, long intervalMs) {
        return new RoundStats(1, n, 262144, dirty, copied, durationMs * MS, intervalMs * MS);
    }

    @Test
    void firstRoundOfABigProcessAsksForAnotherRound() {
        var v = policy.decide(List.of(round(1, 262144, 262144, 1100, 0)));
        assertEquals(ANOTHER_ROUND, v.decision(), v.reason());
    }

    @Test
    void aTinyProcessFreezesAfterTheFirstRound() {
        // 256 pages = 1 MiB: ~1 ms at 1 GB/s
        var v = policy.decide(List.of(round(1, 256, 256, 2, 0)));
        assertEquals(FREEZE, v.decision(), v.reason());
    }

    @Test
    void tenMbPerSecondOverAGigabitLinkConvergesInTheSecondRound() {
        // 10 MB/s = 2441 pages/s; round 2 took 50 ms: 122 pages (0.5 MB) left = 0.5 ms at 1 GB/s
        List<RoundStats> rounds = List.of(round(1, 262144, 262144, 1100, 0), round(2, 2686, 2686, 50, 1100));
        var v = policy.decide(rounds);
        assertEquals(FREEZE, v.decision(), v.reason());
        assertTrue(v.predictedDowntime().compareTo(Duration.ofMillis(1)) < 0, v.predictedDowntime().toString());
    }

    @Test
    void aSlowRoundOverBudgetAsksForAnotherRound() {
        // 100 MB/s dirty (24414 pages/s) over a round of 400 ms: 40 MB left = 40 ms > 30 ms
        List<RoundStats> rounds = List.of(round(1, 262144, 262144, 1100, 0), round(2, 26855, 26855, 400, 1100));
        var v = policy.decide(rounds);
        assertEquals(ANOTHER_ROUND, v.decision(), v.reason());
        assertEquals(40, v.predictedDowntime().toMillis(), 1);
    }

    @Test
    void aDirtyRateAtTheBandwidthOutrunsTheLink() {
        // 1.2 GB/s dirty against 1 GB/s
        long dirty = (long) (1.2e9 / 4096);
        var v = policy.decide(List.of(round(1, 262144, 262144, 1100, 0), round(2, dirty, 262144, 1000, 1000)));
        assertEquals(DIRTY_RATE_OUTRUNS_LINK, v.decision(), v.reason());
    }

    @Test
    void roundsThatStopShrinkingAreDeclaredNotConverging() {
        // 500 MB/s dirty against 1 GB/s: each round is half the previous in theory, but the copy stays the same
        List<RoundStats> rounds = new ArrayList<>();
        rounds.add(round(1, 262144, 262144, 1100, 0));
        rounds.add(round(2, 60000, 60000, 240, 500));
        rounds.add(round(3, 59000, 59000, 240, 240));
        var v = policy.decide(rounds);
        assertEquals(DIRTY_RATE_OUTRUNS_LINK, v.decision(), v.reason());
    }

    @Test
    void maxRoundsEndsPreCopy() {
        ConvergencePolicy two = new ConvergencePolicy(GBPS, Duration.ofMillis(30), 2, 0.9);
        var v = two.decide(List.of(round(1, 262144, 262144, 1100, 0), round(2, 26855, 26855, 400, 1100)));
        assertEquals(DIRTY_RATE_OUTRUNS_LINK, v.decision(), v.reason());
    }

    @Test
    void nonsenseFiguresAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> ConvergencePolicy.of(0, Duration.ofMillis(30)));
        assertThrows(IllegalArgumentException.class, () -> ConvergencePolicy.of(GBPS, Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> policy.decide(List.of()));
    }
}
