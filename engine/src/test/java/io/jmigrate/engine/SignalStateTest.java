package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.proc.ProcStatus;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Handlers, the blocked mask and a pending signal with its siginfo come back after dump + restore. */
class SignalStateTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final long SIGUSR2_BIT = 1L << (Signals.SIGUSR2 - 1);

    @TempDir
    Path tmp;

    @Test
    void pendingBlockedSignalKeepsItsSiginfoAcrossRestore() {
        ProcFs procfs = new ProcFs();
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("sigpending.log");
            int pid = workloads.start(log, Workloads.fixture("sigpending").toString(), log.toString());
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            Signals.kill(pid, Signals.SIGUSR2);          // blocked: stays pending, si_code SI_USER, si_pid us
            awaitPending(procfs, pid);
            ProcStatus before = procfs.status(pid);

            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("images")));
            Workloads.awaitGone(pid);
            workloads.adopt(new Restorer().restore(RestoreOptions.of(tmp.resolve("images"))).pid());

            // The program waits in sigsuspend, where /proc shows the temporary mask; the image must hold the real
            // one (SIGUSR1 and SIGUSR2 blocked), which the kernel restores when sigsuspend returns.
            long dumpedMask = io.jmigrate.engine.image.ImageSet.open(tmp.resolve("images")).core(pid).getThreads(0).getSigmask();
            assertEquals(SIGUSR2_BIT | (1L << (Signals.SIGUSR1 - 1)), dumpedMask, "the real blocked mask is dumped");
            ProcStatus after = procfs.status(pid);
            assertEquals(before.sigCgt(), after.sigCgt(), "caught signals");
            assertTrue((after.shdPnd() & SIGUSR2_BIT) != 0, "SIGUSR2 still pending after restore");

            for (int i = 0; i < 3; i++) {
                int expected = i + 1;
                Signals.kill(pid, Signals.SIGUSR1);
                Workloads.awaitLog(log, TIMEOUT, "tick " + expected, l -> l.contains("tick " + expected));
            }
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "the SIGUSR2 handler",
                    l -> l.stream().anyMatch(s -> s.startsWith("got SIGUSR2")));
            String got = lines.stream().filter(s -> s.startsWith("got SIGUSR2")).findFirst().orElseThrow();
            assertEquals("got SIGUSR2 signo 12 code 0 pid " + ProcessHandle.current().pid(), got,
                    "delivered once, with the siginfo it was sent with (SI_USER from the test JVM)");
        }
    }

    @Test
    void armedIntervalTimerFiresAfterRestore() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("alarm.log");
            int pid = workloads.start(log, Workloads.fixture("alarmclock").toString(), log.toString());
            Workloads.awaitLog(log, TIMEOUT, "armed", l -> l.contains("armed"));
            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("images")));
            Workloads.awaitGone(pid);
            assertTrue(!Workloads.lines(log).contains("alarm"), "the timer was dumped before it fired");
            workloads.adopt(new Restorer().restore(RestoreOptions.of(tmp.resolve("images"))).pid());
            Workloads.awaitLog(log, TIMEOUT, "the restored timer to fire", l -> l.contains("alarm"));
        }
    }

    private static void awaitPending(ProcFs procfs, int pid) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while ((procfs.status(pid).shdPnd() & SIGUSR2_BIT) == 0) {
            if (System.nanoTime() > deadline) throw new AssertionError("SIGUSR2 never became pending");
            Thread.onSpinWait();
        }
    }
}
