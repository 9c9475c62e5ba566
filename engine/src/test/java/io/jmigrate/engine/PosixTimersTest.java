package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.PosixTimer;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * POSIX timers come back with their ids (1, 3 and 5, not the 0, 1, 2 a fresh process would get), clocks, signals,
 * sigvals and notify targets (one goes to a given thread), and with the time they had left: the fixture asks the
 * kernel after restore, and the one-shot fires when its time is up, with its SI_TIMER siginfo.
 */
class PosixTimersTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final long ONESHOT_NS = 4_000_000_000L;
    /** How far the time left may drift: the restore itself and this test's 5 ms log polling. */
    private static final long TOLERANCE_MS = 400;

    @TempDir
    Path tmp;

    @Test
    void timersKeepTheirIdsSignalsAndTimeLeft() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("posixtimers.log");
            long spawned = System.nanoTime();
            int pid = workloads.start(log, Workloads.fixture("posixtimers").toString(), log.toString());
            List<String> ready = Workloads.awaitLog(log, TIMEOUT, "armed", l -> l.contains("armed"));
            int worker = Integer.parseInt(ready.stream().filter(s -> s.startsWith("worker ")).findFirst().orElseThrow().split(" ")[1]);

            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            long dumped = System.nanoTime();
            Workloads.awaitGone(pid);
            long ticksAtDump = TickLog.lastTick(Workloads.lines(log));

            ProcessCore core = ImageSet.open(images).core(pid);
            assertEquals(List.of(1, 3, 5), core.getPosixTimersList().stream().map(PosixTimer::getId).toList());
            PosixTimer oneshot = core.getPosixTimers(0), periodic = core.getPosixTimers(1), idle = core.getPosixTimers(2);
            assertEquals(1, oneshot.getClockid());
            assertEquals(4242, oneshot.getSigval());
            assertEquals(0, oneshot.getNotify(), "SIGEV_SIGNAL");
            assertEquals(pid, oneshot.getTarget());
            assertEquals(0, oneshot.getIntervalNs());
            long left = oneshot.getValueNs();
            assertTrue(left > 0 && left <= ONESHOT_NS && left >= ONESHOT_NS - (dumped - spawned),
                    "time left at dump " + left + " ns: between 4 s minus the whole dump and 4 s");
            assertEquals(7, periodic.getClockid(), "CLOCK_BOOTTIME");
            assertEquals(4, periodic.getNotify(), "SIGEV_SIGNAL | SIGEV_THREAD_ID");
            assertEquals(worker, periodic.getTarget());
            assertEquals(Signals.SIGUSR1, periodic.getSignal());
            assertEquals(200_000_000L, periodic.getIntervalNs());
            assertEquals(1, idle.getNotify(), "SIGEV_NONE");
            assertEquals(0, idle.getValueNs(), "never armed");
            assertFalse(Workloads.lines(log).stream().anyMatch(s -> s.startsWith("oneshot fired")), "dumped before it fired");

            int restored = new Restorer().restore(RestoreOptions.of(images)).pid();
            long restoredAt = System.nanoTime();
            workloads.adopt(restored);
            assertEquals(pid, restored);

            Signals.kill(pid, Signals.SIGUSR2);       // the fixture asks the kernel about timers 0..5
            List<String> checked = Workloads.awaitLog(log, TIMEOUT, "the fixture's timer check",
                    l -> l.stream().anyMatch(s -> s.startsWith("check ") || s.startsWith("CORRUPT")));
            String check = checked.stream().filter(s -> s.startsWith("check ") || s.startsWith("CORRUPT")).findFirst().orElseThrow();
            assertTrue(check.startsWith("check ok "), check);
            long leftAfterMs = Long.parseLong(check.split(" ")[3]);
            long expectedMs = (left - (System.nanoTime() - restoredAt)) / 1_000_000;
            assertTrue(Math.abs(leftAfterMs - expectedMs) < TOLERANCE_MS + (System.nanoTime() - restoredAt) / 1_000_000,
                    "the one-shot has " + leftAfterMs + " ms left after restore, it had " + left / 1_000_000 + " ms at dump");

            List<String> fired = Workloads.awaitLog(log, TIMEOUT, "the one-shot to fire",
                    l -> l.stream().anyMatch(s -> s.startsWith("oneshot fired")));
            long firedAfterMs = (System.nanoTime() - restoredAt) / 1_000_000;
            assertEquals("oneshot fired id 1 value 4242 code -2",
                    fired.stream().filter(s -> s.startsWith("oneshot fired")).findFirst().orElseThrow(), "SI_TIMER from timer 1");
            assertTrue(firedAfterMs >= left / 1_000_000 - TOLERANCE_MS && firedAfterMs <= left / 1_000_000 + TOLERANCE_MS,
                    "fired " + firedAfterMs + " ms after restore; it had " + left / 1_000_000 + " ms left at dump");

            // the periodic timer goes on, to the worker thread only, with SI_TIMER from timer 3 (else CORRUPT)
            List<String> after = Workloads.awaitLog(log, TIMEOUT, "5 more periodic ticks", l -> TickLog.lastTick(l) >= ticksAtDump + 5);
            TickLog.assertConsecutive(after);
            assertTrue(Workloads.alive(pid));
        }
    }
}
