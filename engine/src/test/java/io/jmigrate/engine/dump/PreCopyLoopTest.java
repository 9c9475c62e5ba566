package io.jmigrate.engine.dump;

import io.jmigrate.engine.check.DirtyTracking;
import io.jmigrate.engine.image.proto.DumpStats;
import io.jmigrate.engine.precopy.ConvergencePolicy;
import io.jmigrate.engine.precopy.RoundStats;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The round loop on rounds with worked figures (the policy itself: ConvergencePolicyTest; the loop on real
 * processes: the demo and bench --pre-copy): 1 GiB copied in 1 s in round 1 sets the bandwidth at ~1 GB/s.
 */
class PreCopyLoopTest {
    private static final long MS = 1_000_000, GIB = 1L << 30;

    /** A round that copied {@code pages} in {@code ms} after {@code dirty} were written over {@code intervalMs}. */
    private static PreDumper.Result round(int n, long dirty, long pages, long ms, long intervalMs) {
        DumpStats stats = DumpStats.newBuilder().setBytesWritten(pages * 4096).setMemoryNanos(ms * MS).build();
        return new PreDumper.Result(Path.of("pre-" + n), DirtyTracking.UFFD_WP_ASYNC, stats,
                List.of(new RoundStats(1, n, GIB / 4096, dirty, pages, ms * MS, intervalMs * MS)));
    }

    @Test
    void roundsRunUntilThePolicySaysFreezeAndTheLastRoundIsTheParent() {
        List<PreDumper.Result> script = List.of(round(1, 262144, 262144, 1000, 0), round(2, 26855, 26855, 400, 1000),
                round(3, 2441, 2441, 40, 400));          // 100 MB/s of writes, then 10 MB/s: the third round converges
        List<ConvergencePolicy.Decision> seen = new ArrayList<>();
        List<Path> parents = new ArrayList<>();
        Path last = PreCopy.run(Duration.ofMillis(30), 8, (n, prev) -> {
            parents.add(prev);
            return new PreCopy.Done(script.get(n - 1), Path.of("shadow-" + n));
        }, r -> seen.add(r.verdict().decision()));
        assertEquals(List.of(ConvergencePolicy.Decision.ANOTHER_ROUND, ConvergencePolicy.Decision.ANOTHER_ROUND,
                ConvergencePolicy.Decision.FREEZE), seen);
        assertNull(parents.getFirst(), "the first round builds on nothing");
        assertEquals(List.of(Path.of("shadow-1"), Path.of("shadow-2")), parents.subList(1, 3), "each round on the one before");
        assertEquals(Path.of("shadow-3"), last);
    }

    @Test
    void roundsStopAtTheCapEvenIfThePolicyWantsMore() {
        // every round leaves 40 ms of copying: never under the 30 ms budget, and not shrinking enough to give up
        List<Integer> ran = new ArrayList<>();
        Path last = PreCopy.run(Duration.ofMillis(30), 2, (n, prev) -> {
            ran.add(n);
            return new PreCopy.Done(n == 1 ? round(1, 262144, 262144, 1000, 0) : round(n, 26855, 26855, 400, 1000),
                    Path.of("shadow-" + n));
        }, r -> { });
        assertEquals(List.of(1, 2), ran);
        assertEquals(Path.of("shadow-2"), last);
    }
}
