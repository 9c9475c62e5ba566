package io.jmigrate.engine.compel;

import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.SyscallNumbers;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Freezing real processes and running system calls inside them. */
class CompelTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void freezesEveryThreadOfAProcessThatKeepsCreatingThreadsAndResumesIt() {
        try (Workloads workloads = new Workloads(); Tracer tracer = new Tracer()) {
            Path log = tmp.resolve("storm.log");
            int pid = workloads.start(log, Workloads.fixture("threadstorm").toString(), log.toString());
            Workloads.awaitLines(log, 5, TIMEOUT);
            for (int round = 0; round < 5; round++) {
                List<Integer> frozenThreads = tracer.call(() -> {
                    FrozenProcess frozen = Freezer.freeze(pid);
                    List<Integer> tids = frozen.threads().stream().map(StoppedThread::tid).toList();
                    // while frozen: every thread the kernel lists is one we hold, and it is stopped
                    assertEquals(tids.stream().sorted().toList(), Freezer.threadIds(pid), "all threads seized");
                    for (int tid : tids) assertEquals('t', state(pid, tid), "thread " + tid + " stopped");
                    frozen.resume();
                    return tids;
                });
                assertTrue(frozenThreads.size() >= 2, "the storm thread was frozen too");
                long before = Workloads.lines(log).size();
                Workloads.awaitLines(log, (int) before + 3, TIMEOUT);       // ticking again
            }
            assertTrue(Workloads.alive(pid));
        }
    }

    @Test
    void runsSystemCallsInsideAStoppedTaskAndReportsErrnoByName() {
        try (Workloads workloads = new Workloads(); Tracer tracer = new Tracer()) {
            Path log = tmp.resolve("memhog.log");
            int pid = workloads.start(log, Workloads.fixture("memhog").toString(), log.toString(), "4", "sleep");
            Workloads.awaitLines(log, 3, TIMEOUT);
            tracer.call(() -> {
                try (FrozenProcess frozen = Freezer.freeze(pid)) {
                    RemoteSyscalls inside = RemoteSyscalls.in(frozen.leader(), pid);
                    assertEquals(pid, inside.call("getpid", SyscallNumbers.GETPID));
                    ErrnoException e = assertThrows(ErrnoException.class,
                            () -> inside.call("close(9999)", SyscallNumbers.CLOSE, 9999));
                    assertEquals(Errno.EBADF, e.errno());
                    assertTrue(e.getMessage().contains("EBADF") && e.getMessage().contains("close(9999)"), e.getMessage());
                }
                return null;
            });
            long before = Workloads.lines(log).size();
            Workloads.awaitLines(log, (int) before + 3, TIMEOUT);
            assertTrue(Workloads.lines(log).stream().noneMatch(l -> l.startsWith("CORRUPT")));
        }
    }

    private static char state(int pid, int tid) {
        try {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "task", Integer.toString(tid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException e) {
            return '?';
        }
    }
}
