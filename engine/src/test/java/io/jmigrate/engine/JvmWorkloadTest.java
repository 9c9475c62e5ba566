package io.jmigrate.engine;

import io.jmigrate.engine.compel.Freezer;
import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.restore.RestoreOptions;
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

/**
 * A running JVM (a dozen threads: GC, JIT compilers, signal dispatcher...) growing a HashMap and checking its sum
 * survives dump + restore: every thread back with its TID, the program carries on where it stopped.
 */
class JvmWorkloadTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final String PROGRAM = """
            import java.nio.file.*;
            import java.util.*;
            public class Ticker {
                public static void main(String[] args) throws Exception {
                    Map<Integer, Integer> map = new HashMap<>();
                    var out = Files.newBufferedWriter(Path.of(args[0]), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                    out.write("start pid " + ProcessHandle.current().pid() + "\\n");
                    out.flush();
                    for (int t = 1; ; t++) {
                        for (int i = 0; i < 1000; i++) map.put(t * 1000 + i, i);
                        long sum = 0;
                        for (int v : map.values()) sum += v;
                        if (sum != 499_500L * t) { out.write("CORRUPT sum " + sum + " at " + t + "\\n"); out.flush(); System.exit(3); }
                        out.write("tick " + t + " size " + map.size() + "\\n");
                        out.flush();
                        Thread.sleep(20);
                    }
                }
            }
            """;

    @TempDir
    Path tmp;

    @Test
    void aRunningJvmSurvivesTwoCycles() throws IOException {
        Path source = Files.writeString(tmp.resolve("Ticker.java"), PROGRAM);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("ticker.log");
            Path out = tmp.resolve("ticker.out");
            int pid = workloads.start(out, java.toString(), "-Xmx64m", "-XX:+UseSerialGC", "-XX:-UsePerfData",
                    "-XX:-UseDynamicNumberOfCompilerThreads",
                    source.toString(), log.toString());
            Workloads.awaitLog(log, TIMEOUT, "ticks", l -> TickLog.lastTick(l) >= 5);
            for (int cycle = 0; cycle < 2; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                long ticks = TickLog.lastTick(Workloads.lines(log));
                List<Integer> dumped = io.jmigrate.engine.image.ImageSet.open(images).pstree().getProcesses(0)
                        .getThreadsList().stream().sorted().toList();
                assertTrue(dumped.size() > 5, "a JVM has many threads: " + dumped);
                assertEquals(pid, new Restorer().restore(RestoreOptions.of(images)).pid());
                assertEquals(dumped, Freezer.threadIds(pid), "every JVM thread back with its TID");
                TickLog.assertConsecutive(Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 10));
            }
            assertEquals("", Files.readString(out), "the JVM printed no error");
        }
    }
}
