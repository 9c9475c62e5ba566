package io.jmigrate.engine.precopy;

import java.time.Duration;
import java.util.List;

/**
 * Decides after each pre-copy round whether to copy another round, to freeze now (what is left to copy fits the
 * downtime budget at the measured bandwidth), or to give up on pre-copy because the process dirties memory faster
 * than the link drains it (the caller then switches to post-copy or accepts a longer downtime). Pure arithmetic.
 *
 * <p>Freezing now leaves about the pages written during the last round's duration: the dirty rate times that
 * duration, copied at {@code bandwidth}. Pre-copy cannot converge when the dirty rate reaches the bandwidth, when
 * {@code maxRounds} rounds did not get there, or when a round no longer shrinks the copy below {@code minShrink}
 * times the previous one.
 *
 * @param bandwidthBytesPerSecond measured copy bandwidth
 * @param downtimeBudget          the longest acceptable freeze
 * @param maxRounds               rounds before giving up
 * @param minShrink               a round must copy at most this fraction of the previous one to count as progress
 */
public record ConvergencePolicy(double bandwidthBytesPerSecond, Duration downtimeBudget, int maxRounds, double minShrink) {
    public ConvergencePolicy {
        if (!(bandwidthBytesPerSecond > 0)) throw new IllegalArgumentException("bandwidth must be positive: " + bandwidthBytesPerSecond);
        if (downtimeBudget.isNegative() || downtimeBudget.isZero()) throw new IllegalArgumentException("downtime budget must be positive");
        if (maxRounds < 1) throw new IllegalArgumentException("maxRounds must be at least 1: " + maxRounds);
        if (!(minShrink > 0 && minShrink <= 1)) throw new IllegalArgumentException("minShrink must be in (0, 1]: " + minShrink);
    }

    public static ConvergencePolicy of(double bandwidthBytesPerSecond, Duration downtimeBudget) {
        return new ConvergencePolicy(bandwidthBytesPerSecond, downtimeBudget, 30, 0.9);
    }

    public enum Decision { ANOTHER_ROUND, FREEZE, DIRTY_RATE_OUTRUNS_LINK }

    /** The decision, why, and the freeze it predicts for freezing now. */
    public record Verdict(Decision decision, String reason, Duration predictedDowntime) {}

    private static final long PAGE = 4096;

    /** Decides after the last of {@code rounds} (oldest first; the totals of every process of one round). */
    public Verdict decide(List<RoundStats> rounds) {
        if (rounds.isEmpty()) throw new IllegalArgumentException("no round yet");
        RoundStats last = rounds.getLast();
        double dirtyBytesPerSecond = last.dirtyPagesPerSecond() * PAGE;
        Duration predicted;
        if (last.round() == 1 || last.intervalNanos() <= 0) {
            // no rate measured yet: freezing now would copy what the first round wrote again, at most all of it
            predicted = seconds(last.pagesCopied() * PAGE / bandwidthBytesPerSecond);
            if (predicted.compareTo(downtimeBudget) <= 0) {
                return new Verdict(Decision.FREEZE, "the whole process copies within the budget", predicted);
            }
            return new Verdict(Decision.ANOTHER_ROUND, "first round: no dirty rate measured yet", predicted);
        }
        double leftBytes = dirtyBytesPerSecond * (last.durationNanos() / 1e9);
        predicted = seconds(leftBytes / bandwidthBytesPerSecond);
        if (predicted.compareTo(downtimeBudget) <= 0) {
            return new Verdict(Decision.FREEZE, String.format("%.1f MiB left, %.1f ms at %.1f MiB/s, within the %d ms budget",
                    leftBytes / 1048576, predicted.toNanos() / 1e6, bandwidthBytesPerSecond / 1048576, downtimeBudget.toMillis()),
                    predicted);
        }
        if (dirtyBytesPerSecond >= bandwidthBytesPerSecond) {
            return new Verdict(Decision.DIRTY_RATE_OUTRUNS_LINK, String.format("dirty rate %.1f MiB/s reaches the bandwidth %.1f MiB/s",
                    dirtyBytesPerSecond / 1048576, bandwidthBytesPerSecond / 1048576), predicted);
        }
        if (rounds.size() >= maxRounds) {
            return new Verdict(Decision.DIRTY_RATE_OUTRUNS_LINK, maxRounds + " rounds did not get within the budget", predicted);
        }
        if (rounds.size() >= 3) {
            RoundStats before = rounds.get(rounds.size() - 2);
            if (before.round() > 1 && last.pagesCopied() > before.pagesCopied() * minShrink) {
                return new Verdict(Decision.DIRTY_RATE_OUTRUNS_LINK, String.format("round %d copied %d pages after %d: no longer converging",
                        last.round(), last.pagesCopied(), before.pagesCopied()), predicted);
            }
        }
        return new Verdict(Decision.ANOTHER_ROUND, String.format("%.1f ms predicted, over the %d ms budget",
                predicted.toNanos() / 1e6, downtimeBudget.toMillis()), predicted);
    }

    private static Duration seconds(double s) {
        return Duration.ofNanos((long) Math.min(s * 1e9, Long.MAX_VALUE / 2.0));
    }
}
