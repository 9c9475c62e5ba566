package io.jmigrate.cli;

import io.jmigrate.engine.sys.Spawn;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/** What the cli tests share: running the command in this JVM, starting memhog, and reading its tick log. */
final class CliHarness {
    private static final Pattern TICK = Pattern.compile("tick (\\d+)( .*)?");

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

    static List<String> lines(Path log) {
        try {
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static List<String> awaitLog(Path log, Duration timeout, String what, Predicate<List<String>> condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<String> lines = lines(log);
            if (condition.test(lines)) return lines;
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what + "; log: " + lines);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }

    static long lastTick(List<String> lines) {
        for (int i = lines.size() - 1; i >= 0; i--) {
            Matcher m = TICK.matcher(lines.get(i));
            if (m.matches()) return Long.parseLong(m.group(1));
        }
        return 0;
    }

    static void assertConsecutiveTicks(List<String> lines) {
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("CORRUPT")), () -> "memory corrupt: " + lines);
        long previous = 0;
        for (String line : lines) {
            Matcher m = TICK.matcher(line);
            if (!m.matches()) continue;
            long tick = Long.parseLong(m.group(1));
            if (tick != previous + 1) fail("ticks not consecutive: " + previous + " then " + line);
            previous = tick;
        }
        assertEquals(1, lines.stream().filter(l -> l.startsWith("start ")).count(), "the program never restarted");
    }
}
