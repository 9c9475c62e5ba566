package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpRefusedException;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.proc.FdInfo;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * eventfd, timerfd, signalfd and epoll come back with their state: counts (a semaphore's too, and one shared by two
 * dup'd fds), an armed periodic timer that goes on expiring and an expired one-shot whose expiration is still unread,
 * the signal mask, and an interest list with its data tags that keeps reporting the restored fds. The anon-inode
 * descriptors we cannot recreate are refused with a one-line reason, and the process runs on untouched.
 */
class AnonFdsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final ProcFs PROC = new ProcFs();
    private static final Pattern READY = Pattern.compile("ready counter (\\d+) dup (\\d+) sem (\\d+) bell (\\d+) "
            + "pipe (\\d+),(\\d+) oneshot (\\d+) sig (\\d+) epoll (\\d+) timer (\\d+)");
    /** An epoll fdinfo target line without its pos/ino/sdev, which differ in a new process. */
    private static final Pattern TFD = Pattern.compile("(tfd:\\s*\\d+\\s+events:\\s*\\p{XDigit}+\\s+data:\\s*\\p{XDigit}+).*");

    @TempDir
    Path tmp;

    @Test
    void eventfdTimerfdSignalfdAndEpollComeBackWithTheirState() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("anonfds.log");
            int pid = workloads.start(log, Workloads.fixture("anonfds").toString(), log.toString());
            Matcher fds = READY.matcher(Workloads.awaitLog(log, TIMEOUT, "ready",
                    l -> l.stream().anyMatch(s -> s.startsWith("ready"))).stream()
                    .filter(s -> s.startsWith("ready")).findFirst().orElseThrow());
            assertTrue(fds.matches(), fds::toString);
            int counter = fd(fds, 1), dup = fd(fds, 2), oneshot = fd(fds, 7), epoll = fd(fds, 9), timer = fd(fds, 10);
            Map<Integer, String> before = anonFdState(pid);
            assertEquals(8, before.size(), () -> "the fixture's anon fds: " + before);

            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            long timerLinesAtDump = count(Workloads.lines(log), "timer ");

            FdTable table = ImageSet.open(images).fds(pid);
            FdEntry timerEntry = entry(table, timer);
            assertEquals(FdKind.FD_TIMERFD, timerEntry.getKind());
            assertEquals(200_000_000L, timerEntry.getTimerfd().getIntervalNs());
            long left = timerEntry.getTimerfd().getValueNs();
            assertTrue(left > 0 && left < 2_500_000_000L, "dumped before its first expiry (2.5 s), with the time left: " + left);
            assertEquals(1, entry(table, oneshot).getTimerfd().getTicks(), "the one-shot's unread expiration is dumped");
            assertEquals(counter, entry(table, dup).getDupOf(), "the dup is dumped as a dup, not as a second counter");
            assertFalse(entry(table, counter).hasDupOf());
            assertEquals(4, entry(table, epoll).getEpoll().getTargetsCount());

            int restored = new Restorer().restore(RestoreOptions.of(images)).pid();
            workloads.adopt(restored);
            assertEquals(pid, restored);

            Map<Integer, String> after = anonFdState(pid);
            assertEquals(before.keySet(), after.keySet(), "the same anon fds");
            before.forEach((fd, state) -> {
                // an armed timer's time left runs out, and it may expire meanwhile; clock, interval, flags stay
                if (fd == timer) return;
                assertEquals(state, after.get(fd), "fd " + fd + " after restore");
            });
            assertEquals(without(before.get(timer), "it_value", "ticks"), without(after.get(timer), "it_value", "ticks"),
                    "timer fd");
            assertEquals(PROC.fdInfo(pid, counter).field("eventfd-id"), PROC.fdInfo(pid, dup).field("eventfd-id"),
                    "the dup'd fds share one eventfd again");

            // the periodic timer runs on, through the restored epoll (the fixture logs CORRUPT for an early expiry)
            Workloads.awaitLog(log, TIMEOUT, "the restored timer to expire through epoll",
                    l -> count(l, "timer ") >= timerLinesAtDump + 3);

            // SIGUSR1: its handler writes the bell eventfd and the pipe; epoll reports both
            Signals.kill(pid, Signals.SIGUSR1);
            List<String> first = Workloads.awaitLog(log, TIMEOUT, "the bell and the pipe through epoll",
                    l -> count(l, "oneshot ") >= 1 && count(l, "pipe ") >= 1);
            assertEquals(List.of("bell 1", "counter " + 0x100000003L, "sem 3", "oneshot 1"), bellBlock(first, 0),
                    "the counter above 2^32, the semaphore's count and the one-shot's unread expiration");
            assertTrue(first.contains("pipe 1 bytes"), "the pipe in the interest list");

            Signals.kill(pid, Signals.SIGUSR1);
            List<String> second = Workloads.awaitLog(log, TIMEOUT, "a second bell", l -> count(l, "oneshot ") >= 2);
            assertEquals(List.of("bell 1", "counter " + 0x100000003L, "sem 3", "oneshot 0"), bellBlock(second, 1),
                    "the count written back through the dup is read through the first fd: one shared counter");

            Signals.kill(pid, Signals.SIGUSR2);              // blocked: only the signalfd can take it
            List<String> done = Workloads.awaitLog(log, TIMEOUT, "SIGUSR2 through the signalfd",
                    l -> l.contains("signal 12 from pid " + ProcessHandle.current().pid()));
            TickLog.assertConsecutive(done);
            assertTrue(Workloads.alive(pid));
        }
    }

    /** What the fixture holds in the refusing modes, and the words the refusal must say ({fd} is the fd it logged). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "io_uring     | fd {fd} of PID {pid} is an io_uring instance; io_uring cannot be checkpointed",
            "epoll-closed | fd {fd} of PID {pid} is an epoll instance that watches fd {watched}, which is closed",
            "epoll-reused | fd {fd} of PID {pid} is an epoll instance that watches fd {watched} twice"})
    void unsupportedAnonFdIsRefusedAndTheProcessRunsOn(String mode, String words) {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("anonfds-" + mode + ".log");
            int pid = workloads.start(log, Workloads.fixture("anonfds").toString(), log.toString(), mode);
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "ready",
                    l -> l.stream().anyMatch(s -> s.startsWith("ready") || s.startsWith("no io_uring")));
            assumeFalse(lines.stream().anyMatch(s -> s.startsWith("no io_uring")), "io_uring is disabled here");
            String[] ready = lines.stream().filter(s -> s.startsWith("ready")).findFirst().orElseThrow().split(" ");
            String expected = words.replace("{fd}", ready[2]).replace("{pid}", Integer.toString(pid))
                    .replace("{watched}", ready.length > 4 ? ready[4] : "?");
            Workloads.awaitLog(log, TIMEOUT, "3 ticks", l -> TickLog.lastTick(l) >= 3);

            Path images = tmp.resolve("images-" + mode);
            DumpRefusedException e = assertThrows(DumpRefusedException.class,
                    () -> new Dumper().dump(DumpOptions.of(pid, images)));
            assertTrue(e.getMessage().contains(expected), () -> "expected \"" + expected + "\" in: " + e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line");
            assertFalse(Files.exists(images), "no images directory is left behind");

            long ticks = TickLog.lastTick(Workloads.lines(log));
            List<String> after = Workloads.awaitLog(log, TIMEOUT, "5 more ticks", l -> TickLog.lastTick(l) >= ticks + 5);
            assertTrue(Workloads.alive(pid));
            for (int tid : PROC.threads(pid)) {
                assertEquals(0, PROC.taskStatus(pid, tid).tracerPid(), "not traced");
                char state = PROC.taskStat(pid, tid).state();
                assertFalse(state == 't' || state == 'T', "not stopped: " + state);
            }
            TickLog.assertConsecutive(after);
        }
    }

    /** fd number to its link target and fdinfo lines, minus what differs in any new process (mnt_id, ino, ids). */
    private static Map<Integer, String> anonFdState(int pid) {
        Map<Integer, String> state = new TreeMap<>();
        for (int fd : PROC.fdNumbers(pid)) {
            String target = PROC.fdTarget(pid, fd);
            if (!target.startsWith("anon_inode:")) continue;
            StringBuilder s = new StringBuilder(target);
            PROC.fdInfo(pid, fd).lines().stream()
                    .filter(line -> !line.startsWith("mnt_id:") && !line.startsWith("ino:") && !line.startsWith("eventfd-id:"))
                    .map(line -> TFD.matcher(line).matches() ? TFD.matcher(line).replaceAll("$1") : line)
                    .sorted()                                // epoll lists its targets in kernel address order
                    .forEach(line -> s.append(" | ").append(line));
            state.put(fd, s.toString());
        }
        return state;
    }

    private static String without(String state, String... fields) {
        for (String field : fields) state = state.replaceAll("\\| " + field + ":[^|]*", "");
        return state;
    }

    /** The lines "bell", "counter", "sem", "oneshot" logged for the {@code n}-th bell (0 = first). */
    private static List<String> bellBlock(List<String> lines, int n) {
        int at = -1;
        for (int i = 0, seen = -1; i < lines.size(); i++) {
            if (lines.get(i).startsWith("bell ") && ++seen == n) at = i;
        }
        assertTrue(at >= 0, () -> "no bell " + n + " in " + lines);
        return lines.subList(at, at + 4);
    }

    private static long count(List<String> lines, String prefix) {
        return lines.stream().filter(s -> s.startsWith(prefix)).count();
    }

    private static int fd(Matcher m, int group) {
        return Integer.parseInt(m.group(group));
    }

    private static FdEntry entry(FdTable table, int fd) {
        return table.getFdsList().stream().filter(e -> e.getFd() == fd).findFirst()
                .orElseThrow(() -> new AssertionError("fd " + fd + " is not in the image"));
    }
}
