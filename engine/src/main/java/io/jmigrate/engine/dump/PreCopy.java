package io.jmigrate.engine.dump;

import io.jmigrate.engine.precopy.ConvergencePolicy;
import io.jmigrate.engine.precopy.RoundStats;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Pre-dump rounds until the {@link ConvergencePolicy} stops them: what a migration runs before its final dump. The
 * first round's copy rate is the bandwidth the policy plans with. Where a round's images go (a local directory, a
 * page server) is the caller's.
 */
public final class PreCopy {
    private PreCopy() {}

    /** One pre-dump round; {@code prev} is what the round before left to build on (null for the first). */
    @FunctionalInterface
    public interface Round {
        Done run(int round, Path prev);
    }

    /** What a round did, and the directory the next round (or the final dump) gives as its parent. */
    public record Done(PreDumper.Result result, Path parent) {}

    /** A finished round with the policy's verdict on it, for progress display. */
    public record Report(int round, PreDumper.Result result, RoundStats stats, ConvergencePolicy.Verdict verdict) {}

    /**
     * Runs rounds, at most {@code maxRounds}, until the verdict is not {@link ConvergencePolicy.Decision#ANOTHER_ROUND}
     * (freeze now, or the dirty rate outruns the link: the caller decides what follows). Returns the last round's
     * parent directory, for the final dump's {@code withParent}.
     */
    public static Path run(Duration downtimeBudget, int maxRounds, Round round, Consumer<Report> report) {
        List<RoundStats> rounds = new ArrayList<>();
        ConvergencePolicy policy = null;
        Path prev = null;
        for (int n = 1; n <= maxRounds; n++) {
            Done done = round.run(n, prev);
            PreDumper.Result r = done.result();
            RoundStats stats = r.rounds().getFirst();
            rounds.add(stats);
            if (policy == null) {
                double bandwidth = r.stats().getBytesWritten() * 1e9 / Math.max(1, r.stats().getMemoryNanos());
                policy = ConvergencePolicy.of(bandwidth, downtimeBudget);
            }
            ConvergencePolicy.Verdict verdict = policy.decide(rounds);
            report.accept(new Report(n, r, stats, verdict));
            prev = done.parent();
            if (verdict.decision() != ConvergencePolicy.Decision.ANOTHER_ROUND) break;
        }
        return prev;
    }
}
