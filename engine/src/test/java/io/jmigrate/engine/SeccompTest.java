package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Seccomp state survives: per-thread filter stacks (the main thread has two filters, a worker inherited one) and a
 * thread in strict mode. The dump itself must not trip them: jmigrate injects system calls into every thread,
 * which the strict thread's mode would punish with SIGKILL were seccomp not suspended for the tracer.
 */
class SeccompTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** getpriority denied with ENOMSG by filter A, getpgid with E2BIG by filter B; the worker only has A. */
    private static final String FILTERED = "main 42 7 worker 42 0";

    @TempDir
    Path tmp;

    @Test
    void filtersAndStrictModeOfEachThreadSurviveDumpAndRestore() {
        ProcFs procfs = new ProcFs();
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("seccomped.log");
            int pid = workloads.start(log, Workloads.fixture("seccomped").toString(), log.toString());
            Workloads.awaitLog(log, TIMEOUT, "three filtered ticks", l -> l.stream().filter(s -> s.endsWith(FILTERED)).count() >= 3);
            Map<Integer, String> before = seccompByThread(procfs, pid);
            assertEquals(List.of("1 0", "2 1", "2 2"), before.values().stream().sorted().toList(), "fixture set up: " + before);

            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("images")));
            Workloads.awaitGone(pid);
            List<ThreadCore> dumped = ImageSet.open(tmp.resolve("images")).core(pid).getThreadsList();
            assertEquals(2, dumped.getFirst().getSeccompFiltersCount(), "the main thread's two filters are in the image");
            int ticksAtDump = ticks(Workloads.lines(log));

            workloads.adopt(new Restorer().restore(RestoreOptions.of(tmp.resolve("images"))).pid());
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "three ticks after restore", l -> ticks(l) >= ticksAtDump + 3);
            assertEquals(before, seccompByThread(procfs, pid), "each thread's seccomp mode and filter count");
            List<String> after = lines.stream().filter(s -> s.startsWith("tick ")).toList();
            for (String line : after.subList(after.size() - 3, after.size())) {
                assertEquals(true, line.endsWith(FILTERED), "filters still apply after restore: " + line);
            }
            Workloads.awaitLog(log, TIMEOUT, "the strict thread carrying on",
                    l -> l.contains("strict " + (ticksAtDump + 2)));
        }
    }

    private static Map<Integer, String> seccompByThread(ProcFs procfs, int pid) {
        Map<Integer, String> out = new TreeMap<>();
        for (int tid : procfs.threads(pid)) {
            var status = procfs.taskStatus(pid, tid);
            out.put(tid, status.seccomp() + " " + status.raw("Seccomp_filters"));
        }
        return out;
    }

    private static int ticks(List<String> lines) {
        return (int) lines.stream().filter(s -> s.startsWith("tick ")).count();
    }
}
