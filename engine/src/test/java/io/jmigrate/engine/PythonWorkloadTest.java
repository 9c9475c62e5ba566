package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpResult;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.RestoreResult;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real interpreter: CPython (the ELF binary, not a pyenv shim) runs a script whose dict grows by one entry per
 * step and whose whole content is verified every step, against the entries' known values and against a running
 * checksum kept since the start. Dumped (killed) and restored three times, it must keep its PID, go on with the
 * next step every time, and never fail a verification.
 */
class PythonWorkloadTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern STEP = Pattern.compile("step (\\d+) size (\\d+) ok");

    /** Every line it logs is "start pid P", "step N size N ok", or "CORRUPT ..." just before it exits 3. */
    private static final String SCRIPT = """
            import os, sys, time

            MASK = (1 << 64) - 1

            def make(i):
                # an entry's value depends only on its index: a list of ints and a string
                return ([(i * 2654435761 + j) & 0xFFFFFFFF for j in range(8)], ("v%08x" % i) * 4)

            def checksum(i, value):
                nums, text = value
                h = i
                for n in nums:
                    h = (h * 1000003 ^ n) & MASK
                for c in text.encode():
                    h = (h * 31 + c) & MASK
                return h

            def main():
                log = open(sys.argv[1], "a", buffering=1)
                log.write("start pid %d\\n" % os.getpid())
                d = {}
                running = 0
                step = 0
                while True:
                    step += 1
                    value = make(step)
                    d["k%d" % step] = value
                    running = (running + checksum(step, value)) & MASK
                    total = 0
                    for i, (key, got) in enumerate(d.items(), 1):
                        if key != "k%d" % i or got != make(i):
                            log.write("CORRUPT step %d entry %d key %r\\n" % (step, i, key))
                            sys.exit(3)
                        total = (total + checksum(i, got)) & MASK
                    if total != running or len(d) != step:
                        log.write("CORRUPT step %d checksum %x expected %x size %d\\n" % (step, total, running, len(d)))
                        sys.exit(3)
                    log.write("step %d size %d ok\\n" % (step, len(d)))
                    time.sleep(0.01)

            main()
            """;

    @TempDir
    Path tmp;

    @Test
    void pythonKeepsGrowingAndVerifyingItsDictAcrossThreeDumpRestoreCycles() throws IOException {
        assumeTrue(Files.isExecutable(PYTHON), PYTHON + " is not installed");
        Path script = Files.writeString(tmp.resolve("grow.py"), SCRIPT);
        Path log = tmp.resolve("grow.log");
        Path out = tmp.resolve("python.out");
        try (Workloads workloads = new Workloads()) {
            // -I: isolated mode, no PYTHON* variables or user site-packages from the test's environment
            int pid = workloads.start(out, PYTHON.toString(), "-I", script.toString(), log.toString());
            awaitSteps(log, 20);
            for (int cycle = 0; cycle < 3; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                DumpResult dump = new Dumper().dump(DumpOptions.of(pid, images));
                assertTrue(dump.stats().getPagesWritten() > 0);
                Workloads.awaitGone(pid);
                long stepAtDump = lastStep(Workloads.lines(log));

                RestoreResult restored = new Restorer().restore(RestoreOptions.of(images));
                workloads.adopt(restored.pid());
                assertEquals(pid, restored.pid(), "same PID");
                List<String> after = awaitSteps(log, stepAtDump + 20);
                assertTrue(Workloads.alive(pid));
                assertConsecutiveSteps(after, pid);
                System.out.printf("cycle %d: dumped at step %d (%d pages, frozen %.1f ms), restored in %.1f ms, now at step %d%n",
                        cycle, stepAtDump, dump.stats().getPagesWritten(), dump.frozenMillis(), restored.totalMillis(),
                        lastStep(after));
            }
            assertEquals("", Files.readString(out), "python wrote nothing to stdout/stderr (no traceback)");
        }
    }

    private static List<String> awaitSteps(Path log, long steps) {
        return Workloads.awaitLog(log, TIMEOUT, "step " + steps, l -> {
            if (l.stream().anyMatch(s -> s.startsWith("CORRUPT"))) fail("python found its dict corrupt: " + l.getLast());
            return lastStep(l) >= steps;
        });
    }

    static long lastStep(List<String> lines) {
        for (int i = lines.size() - 1; i >= 0; i--) {
            Matcher m = STEP.matcher(lines.get(i));
            if (m.matches()) return Long.parseLong(m.group(1));
        }
        return 0;
    }

    /** Steps 1, 2, 3, ... each with a dict of that size, nothing else but the one start line with our PID. */
    private static void assertConsecutiveSteps(List<String> lines, int pid) {
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("CORRUPT")), () -> "corrupt: " + lines);
        assertEquals("start pid " + pid, lines.getFirst());
        long previous = 0;
        for (String line : lines.subList(1, lines.size())) {
            Matcher m = STEP.matcher(line);
            if (!m.matches()) fail("unexpected line after step " + previous + ": " + line);
            long step = Long.parseLong(m.group(1));
            if (step != previous + 1) fail("steps not consecutive: " + previous + " then " + line);
            assertEquals(step, Long.parseLong(m.group(2)), "the dict has one entry per step");
            previous = step;
        }
    }
}
