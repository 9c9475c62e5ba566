package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.proc.ProcStat;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A process tree comes back whole: same PIDs, parent links, process groups and session, memory intact. */
class ProcessTreeTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final List<String> ROLES = List.of("root", "a", "b", "c");

    @TempDir
    Path tmp;

    @Test
    void treeWithItsOwnProcessGroupSurvivesThreeCycles() {
        ProcFs procfs = new ProcFs();
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("tree.log");
            int root = workloads.start(log, Workloads.fixture("tree").toString(), log.toString());
            for (String role : ROLES) Workloads.awaitLog(roleLog(log, role), TIMEOUT, role + " ticking", l -> TickLog.lastTick(l) >= 2);
            Map<String, Integer> pids = new LinkedHashMap<>();
            pids.put("root", root);
            pids.put("a", childPid(roleLog(log, "root"), "a"));
            pids.put("b", childPid(roleLog(log, "root"), "b"));
            pids.put("c", childPid(roleLog(log, "b"), "c"));
            Map<String, ProcStat> before = stats(procfs, pids);
            assertEquals(pids.get("a"), before.get("a").pgrp(), "a leads its own group");

            for (int cycle = 0; cycle < 3; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(root, images));
                for (int pid : pids.values()) Workloads.awaitGone(pid);
                Map<String, Long> ticks = new LinkedHashMap<>();
                for (String role : ROLES) ticks.put(role, TickLog.lastTick(Workloads.lines(roleLog(log, role))));

                assertEquals(root, new Restorer().restore(RestoreOptions.of(images)).pid());
                pids.values().forEach(workloads::adopt);
                Map<String, ProcStat> after = stats(procfs, pids);
                for (String role : List.of("a", "b", "c")) {
                    assertEquals(before.get(role).ppid(), after.get(role).ppid(), role + ": same parent");
                    assertEquals(before.get(role).pgrp(), after.get(role).pgrp(), role + ": same process group");
                    assertEquals(before.get(role).session(), after.get(role).session(), role + ": same session");
                }
                for (String role : ROLES) {
                    long at = ticks.get(role);
                    List<String> lines = Workloads.awaitLog(roleLog(log, role), TIMEOUT, role + " ticking after restore",
                            l -> TickLog.lastTick(l) >= at + 2);
                    TickLog.assertConsecutive(lines);
                }
            }
        }
    }

    @Test
    void zombieChildComesBackAsTheSameZombie() {
        ProcFs procfs = new ProcFs();
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("holder.log");
            int pid = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), "zombie");
            int zombie = Integer.parseInt(Workloads.awaitLog(log, TIMEOUT, "child", l -> l.stream().anyMatch(s -> s.startsWith("child ")))
                    .stream().filter(s -> s.startsWith("child ")).findFirst().orElseThrow().substring("child ".length()).trim());
            workloads.adopt(zombie);
            Workloads.awaitLog(log, TIMEOUT, "ticks", l -> TickLog.lastTick(l) >= 3);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (procfs.stat(zombie).state() != 'Z') {
                if (System.nanoTime() > deadline) throw new AssertionError("child never became a zombie");
                Thread.onSpinWait();
            }
            ProcStat before = procfs.stat(zombie);
            assertEquals(7 << 8, before.exitCode(), "the holder's zombie exited with status 7");

            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("images")));
            Workloads.awaitGone(pid);
            Workloads.awaitGone(zombie);
            long ticks = TickLog.lastTick(Workloads.lines(log));
            new Restorer().restore(RestoreOptions.of(tmp.resolve("images")));

            ProcStat after = procfs.stat(zombie);
            assertEquals('Z', after.state(), "a zombie again");
            assertEquals(pid, after.ppid(), "child of the same parent");
            assertEquals(before.exitCode(), after.exitCode(), "with the same exit status");
            TickLog.assertConsecutive(Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 3));
        }
    }

    @Test
    void parentAndChildStillShareOneOpenFile() throws java.io.IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("shared.log");
            Path data = tmp.resolve("shared.data");
            int pid = workloads.start(log, Workloads.fixture("sharedfile").toString(), log.toString(), data.toString());
            int child = childPid(log, "").intValue();
            workloads.adopt(child);
            Workloads.awaitLog(log, TIMEOUT, "ticks", l -> TickLog.lastTick(l) >= 3);
            for (int cycle = 0; cycle < 2; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                Workloads.awaitGone(child);
                long ticks = TickLog.lastTick(Workloads.lines(log));
                assertEquals(pid, new Restorer().restore(RestoreOptions.of(images)).pid());
                Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 5);
            }
            // every line intact and each writer's numbers consecutive: nobody overwrote anybody
            Map<String, Long> next = new LinkedHashMap<>(Map.of("p", 1L, "c", 1L));
            List<String> lines = java.nio.file.Files.readAllLines(data);
            for (String line : lines.subList(0, lines.size() - 2)) {        // the last lines may be being written
                String[] parts = line.split(" ");
                assertEquals(2, parts.length, () -> "a damaged line: '" + line + "'");
                assertEquals(next.get(parts[0]), Long.parseLong(parts[1]), () -> "line '" + line + "' out of sequence");
                next.put(parts[0], next.get(parts[0]) + 1);
            }
            long parentTicks = TickLog.lastTick(Workloads.lines(log));
            assertTrue(next.get("p") - 1 >= parentTicks - 3, "every line the parent wrote is still there: "
                    + (next.get("p") - 1) + " of " + parentTicks);
            assertTrue(next.get("c") - 1 >= parentTicks / 2, "the child's lines are there too: " + next);
        }
    }

    private static Path roleLog(Path log, String role) {
        return log.resolveSibling(log.getFileName() + "." + role);
    }

    private static Integer childPid(Path log, String role) {
        String prefix = role.isEmpty() ? "child " : "child " + role + " ";
        String line = Workloads.awaitLog(log, TIMEOUT, prefix, l -> l.stream().anyMatch(s -> s.startsWith(prefix)))
                .stream().filter(s -> s.startsWith(prefix)).findFirst().orElseThrow();
        return Integer.parseInt(line.substring(prefix.length()).trim());
    }

    private static Map<String, ProcStat> stats(ProcFs procfs, Map<String, Integer> pids) {
        Map<String, ProcStat> out = new LinkedHashMap<>();
        pids.forEach((role, pid) -> out.put(role, procfs.stat(pid)));
        return out;
    }
}
