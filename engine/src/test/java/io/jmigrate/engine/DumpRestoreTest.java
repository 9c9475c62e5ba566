package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpResult;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.RestoreResult;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real process is dumped, killed and restored with the same PID, and carries on as if nothing happened. */
class DumpRestoreTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    @Test
    void memhogSurvivesTwentyDumpRestoreCycles() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("memhog.log");
            int pid = workloads.start(log, Workloads.fixture("memhog").toString(), log.toString(), "256", "sleep");
            Workloads.awaitLines(log, 3, TIMEOUT);
            for (int cycle = 0; cycle < 20; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                DumpResult dump = new Dumper().dump(DumpOptions.of(pid, images));
                assertTrue(dump.stats().getPagesWritten() >= 256 * 256, "the whole 256 MiB buffer is dumped");
                Workloads.awaitGone(pid);
                long ticksAtDump = TickLog.lastTick(Workloads.lines(log));

                RestoreResult restored = new Restorer().restore(RestoreOptions.of(images));
                workloads.adopt(restored.pid());
                assertEquals(pid, restored.pid(), "same PID");
                List<String> after = Workloads.awaitLog(log, TIMEOUT, "two more ticks after restore",
                        l -> TickLog.lastTick(l) >= ticksAtDump + 2);
                TickLog.assertConsecutive(after);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sleep", "pause", "read", "spin"})
    void taskFrozenInsideASyscallOrACpuLoopCarriesOn(String mode) {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("memhog-" + mode + ".log");
            int pid = workloads.start(log, Workloads.fixture("memhog").toString(), log.toString(), "8", mode);
            boolean needsWakeups = mode.equals("pause") || mode.equals("read");
            Workloads.awaitLines(log, 2, TIMEOUT);
            if (needsWakeups) wake(pid, log, 3);
            else Workloads.awaitLines(log, 4, TIMEOUT);

            Path images = tmp.resolve("images-" + mode);
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            long ticksAtDump = TickLog.lastTick(Workloads.lines(log));
            int restored = new Restorer().restore(RestoreOptions.of(images)).pid();
            workloads.adopt(restored);
            if (needsWakeups) wake(pid, log, 3);
            List<String> after = Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticksAtDump + 2);
            TickLog.assertConsecutive(after);
        }
    }

    @Test
    void leaveRunningKeepsTheProcessGoing() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("memhog.log");
            int pid = workloads.start(log, Workloads.fixture("memhog").toString(), log.toString(), "16", "sleep");
            Workloads.awaitLines(log, 3, TIMEOUT);
            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("images")).leavingRunning(true));
            long ticks = TickLog.lastTick(Workloads.lines(log));
            List<String> after = Workloads.awaitLog(log, TIMEOUT, "ticks after dump", l -> TickLog.lastTick(l) >= ticks + 3);
            assertTrue(Workloads.alive(pid));
            TickLog.assertConsecutive(after);
        }
    }

    @Test
    void dupedDescriptorsStillShareOneOffset() throws java.io.IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("dupfds.log");
            Path data = tmp.resolve("dupfds.data");
            int pid = workloads.start(log, Workloads.fixture("dupfds").toString(), log.toString(), data.toString());
            Workloads.awaitLog(log, TIMEOUT, "ticks", l -> TickLog.lastTick(l) >= 3);
            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("images")));
            Workloads.awaitGone(pid);
            long ticks = TickLog.lastTick(Workloads.lines(log));
            workloads.adopt(new Restorer().restore(RestoreOptions.of(tmp.resolve("images"))).pid());
            Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 5);
            List<String> lines = java.nio.file.Files.readAllLines(data);
            for (int i = 0; i + 1 < lines.size(); i += 2) {
                long n = i / 2 + 1;
                assertEquals("a " + n, lines.get(i), "line " + i + " (fd 10)");
                assertEquals("b " + n, lines.get(i + 1), "line " + (i + 1) + " (fd 11, the dup)");
            }
            assertTrue(lines.size() >= 2 * (ticks + 5), "both fds kept writing after the restore");
        }
    }

    /** pause/read modes tick once per SIGUSR1: send them until {@code more} new ticks appear. */
    private static void wake(int pid, Path log, int more) {
        long target = TickLog.lastTick(Workloads.lines(log)) + more;
        Workloads.awaitLog(log, TIMEOUT, "ticks after SIGUSR1", l -> {
            if (TickLog.lastTick(l) >= target) return true;
            Signals.kill(pid, Signals.SIGUSR1);
            return false;
        });
    }
}
