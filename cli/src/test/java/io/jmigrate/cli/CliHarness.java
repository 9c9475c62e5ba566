package io.jmigrate.cli;

import io.jmigrate.engine.sys.Spawn;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.fail;

/** What the cli tests share: running the command in this JVM, starting memhog, and reading tick logs
 * (through the engine's test helpers, TickLog and Workloads). */
final class CliHarness {
    private CliHarness() {}

    /** What one run of the command did. */
    record Run(int exit, String out, String err) {
        List<String> errLines() { return err.lines().toList(); }
    }

    /** Runs the command in this JVM with System.out and System.err captured. */
    static synchronized Run jmigrate(String... args) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream outBytes = new ByteArrayOutputStream(), errBytes = new ByteArrayOutputStream();
        int exit;
        try (PrintStream o = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(errBytes, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            exit = Main.execute(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new Run(exit, outBytes.toString(StandardCharsets.UTF_8), errBytes.toString(StandardCharsets.UTF_8));
    }

    /** memhog of {@code mib} MiB in sleep mode, as our child through posix_spawn, output to its log. */
    static int spawnMemhog(Path log, int mib) {
        Path memhog = Path.of(System.getProperty("jmigrate.fixtures", "../fixtures/build"), "memhog").toAbsolutePath();
        if (!Files.isExecutable(memhog)) fail(memhog + " is not built (make -C fixtures)");
        return Spawn.spawn(Spawn.Request.of(List.of(memhog.toString(), log.toString(), Integer.toString(mib), "sleep"))
                .withOutput(log).withCwd(log.getParent()));
    }

    static List<String> lines(Path log) { return Workloads.lines(log); }

    static List<String> awaitLog(Path log, Duration timeout, String what, Predicate<List<String>> condition) {
        return Workloads.awaitLog(log, timeout, what, condition);
    }

    static long lastTick(List<String> lines) { return TickLog.lastTick(lines); }

    static void assertConsecutiveTicks(List<String> lines) { TickLog.assertConsecutive(lines); }
}
