package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.compel.Freezer;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Multi-threaded processes come back with every thread: same TIDs, stacks, TLS and progress. */
class ThreadsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    @Test
    void sixtyFourThreadsSurviveTwentyCycles() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("threads.log");
            int pid = workloads.start(log, Workloads.fixture("threads").toString(), log.toString(), "64");
            Workloads.awaitLines(log, 3, TIMEOUT);
            List<Integer> tids = Freezer.threadIds(pid);
            assertEquals(65, tids.size(), "64 workers and the main thread");
            for (int cycle = 0; cycle < 20; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                long ticks = TickLog.lastTick(Workloads.lines(log));
                int restored = new Restorer().restore(RestoreOptions.of(images)).pid();
                workloads.adopt(restored);
                assertEquals(pid, restored);
                assertEquals(tids, Freezer.threadIds(pid), "every thread back with its TID");
                List<String> after = Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 2);
                TickLog.assertConsecutive(after);
            }
        }
    }
}
