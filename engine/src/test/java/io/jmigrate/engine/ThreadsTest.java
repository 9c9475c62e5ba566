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
    void eachThreadKeepsItsNiceValueAndSchedulingPolicy() {
        io.jmigrate.engine.proc.ProcFs procfs = new io.jmigrate.engine.proc.ProcFs();
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("threads.log");
            int pid = workloads.start(log, Workloads.fixture("threads").toString(), log.toString(), "3");
            Workloads.awaitLines(log, 3, TIMEOUT);
            List<Integer> tids = Freezer.threadIds(pid);
            io.jmigrate.engine.sys.Scheduling.setNice(tids.get(1), 7);
            io.jmigrate.engine.sys.Scheduling.setPolicy(tids.get(2), 3, 0);          // SCHED_BATCH
            io.jmigrate.engine.sys.Scheduling.setPolicy(tids.get(3), 2, 5);          // SCHED_RR, priority 5
            List<String> before = tids.stream().map(t -> schedOf(procfs, pid, t)).toList();
            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("images")));
            Workloads.awaitGone(pid);
            workloads.adopt(new Restorer().restore(RestoreOptions.of(tmp.resolve("images"))).pid());
            assertEquals(before, tids.stream().map(t -> schedOf(procfs, pid, t)).toList(), "nice, rt priority, policy per thread");
            assertEquals("nice 7 rt 0 policy 0", before.get(1));
            assertEquals("nice 0 rt 5 policy 2", before.get(3));
        }
    }

    private static String schedOf(io.jmigrate.engine.proc.ProcFs procfs, int pid, int tid) {
        io.jmigrate.engine.proc.ProcStat s = procfs.taskStat(pid, tid);
        return "nice " + s.field(19) + " rt " + s.field(40) + " policy " + s.field(41);
    }

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
