package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.CgroupMembership;
import io.jmigrate.engine.proc.Cgroups;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.RestoreResult;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The restored process is put back into the cgroup v2 it was in (one this test makes); when that cgroup is gone by
 * the restore, the process is restored anyway, in jmigrate's cgroup, with a warning naming it.
 */
class CgroupTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void processGoesBackIntoItsCgroupOrIsRestoredWithAWarning() throws IOException {
        Path v2 = Cgroups.mounts(Files.readString(Path.of("/proc/self/mountinfo"))).stream()
                .filter(m -> m.v2() && m.root().equals("/")).map(m -> Path.of(m.mountPoint())).findFirst().orElse(null);
        assumeTrue(v2 != null && Files.isWritable(v2), "no writable cgroup v2 hierarchy here");
        String name = "jmigrate-test-" + ProcessHandle.current().pid();
        Path cgroup = Files.createDirectory(v2.resolve(name));
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("holder.log");
            int pid = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), "none");
            Files.writeString(cgroup.resolve("cgroup.procs"), Integer.toString(pid));
            assertEquals("/" + name, v2Path(pid));
            Workloads.awaitLog(log, TIMEOUT, "2 ticks", l -> TickLog.lastTick(l) >= 2);

            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            List<CgroupMembership> dumped = ImageSet.open(images).core(pid).getCgroupsList();
            assertTrue(dumped.stream().anyMatch(c -> c.getHierarchy() == 0 && c.getPath().equals("/" + name)), dumped::toString);

            RestoreResult result = new Restorer().restore(RestoreOptions.of(images));
            workloads.adopt(result.pid());
            assertEquals("/" + name, v2Path(pid), "back in its cgroup");
            assertEquals(List.of(), result.warnings().stream().filter(w -> w.contains("cgroup")).toList());
            long ticks = TickLog.lastTick(Workloads.lines(log));
            Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 2);

            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            Files.delete(cgroup);                   // empty now: the cgroup is gone by the restore
            RestoreResult without = new Restorer().restore(RestoreOptions.of(images));
            workloads.adopt(without.pid());
            assertEquals(v2Path((int) ProcessHandle.current().pid()), v2Path(pid), "in jmigrate's own cgroup");
            assertTrue(without.warnings().stream().anyMatch(w -> w.contains("cgroup v2 /" + name + " of PID " + pid
                    + " does not exist")), without.warnings()::toString);
            long more = TickLog.lastTick(Workloads.lines(log));
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "ticks after the second restore", l -> TickLog.lastTick(l) >= more + 2);
            TickLog.assertConsecutive(lines);
        } finally {
            if (Files.exists(cgroup)) Files.delete(cgroup);
        }
    }

    private static String v2Path(int pid) throws IOException {
        return Cgroups.parse(Files.readString(Path.of("/proc/" + pid + "/cgroup"))).stream()
                .filter(Cgroups.Membership::v2).findFirst().orElseThrow().path();
    }
}
