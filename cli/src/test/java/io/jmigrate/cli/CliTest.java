package io.jmigrate.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.jmigrate.cli.CliHarness.Run;
import io.jmigrate.engine.sys.Prctl;
import io.jmigrate.engine.sys.Reaper;
import io.jmigrate.engine.sys.Signals;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

import static io.jmigrate.cli.CliHarness.assertConsecutiveTicks;
import static io.jmigrate.cli.CliHarness.jmigrate;
import static io.jmigrate.cli.CliHarness.lastTick;
import static io.jmigrate.cli.CliHarness.lines;
import static io.jmigrate.cli.CliHarness.spawnMemhog;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The jmigrate command, run in-process through {@link Main#execute} with stdout and stderr captured: help, the
 * one-line errors for bad usage and bad input, and a real dump, show and restore of a running memhog.
 */
class CliTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private final List<Integer> started = new ArrayList<>();

    @BeforeAll
    static void becomeSubreaper() {
        Prctl.becomeChildSubreaper();   // restored processes re-parent to us, so we can reap them
    }

    @AfterEach
    void killAndReapEverything() {
        for (int pid : started) {
            if (Signals.exists(pid)) Reaper.killAndReap(pid, Duration.ofSeconds(10));
        }
    }

    @Test
    void helpListsTheSubcommands() {
        Run run = jmigrate("--help");
        assertEquals(0, run.exit());
        for (String sub : List.of("dump", "pre-dump", "restore", "show", "check", "demo", "bench", "help")) {
            assertTrue(Pattern.compile("(?m)^  " + sub + " +\\S").matcher(run.out()).find(),
                    () -> sub + " is not listed under Commands:\n" + run.out());
        }
        assertEquals("", run.err());
    }

    @Test
    void dumpWithoutATargetIsAOneLineUsageError() {
        Run run = jmigrate("dump");
        assertNotEquals(0, run.exit());
        assertEquals(1, run.errLines().size(), () -> "one line, not the usage: " + run.err());
        assertTrue(run.err().startsWith("jmigrate: Missing required option"), run.err());
        assertTrue(run.err().contains("--tree=PID"), run.err());
        assertTrue(run.err().contains("jmigrate dump --help"), run.err());
        assertEquals("", run.out());
    }

    @Test
    void aMistypedPidIsAOneLineUsageError() {
        Run run = jmigrate("dump", "-t", "forty-two", "-D", tmp.resolve("images").toString());
        assertEquals(2, run.exit());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.err().startsWith("jmigrate: Invalid value for option '--tree': 'forty-two' is not an int"), run.err());
        assertFalse(Files.exists(tmp.resolve("images")));
    }

    @Test
    void dumpOfAPidThatDoesNotExistFailsWithOneLine() throws IOException {
        int pid = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).getFirst().strip());
        Path images = tmp.resolve("images");
        Run run = jmigrate("dump", "-t", Integer.toString(pid), "-D", images.toString());
        assertEquals(1, run.exit());
        assertEquals(List.of("jmigrate: no process with PID " + pid), run.errLines());
        assertEquals("", run.out());
        assertFalse(Files.exists(images), "nothing was written");
    }

    @Test
    void anUnknownCompressionPolicyIsAOneLineUsageError() {
        Run run = jmigrate("send-images", "-D", tmp.resolve("images").toString(), "--page-server", "127.0.0.1:1",
                "--compress", "maybe");
        assertEquals(2, run.exit());
        assertEquals(List.of("jmigrate: Invalid value for option '--compress': --compress takes auto, always or never,"
                + " not 'maybe' (see 'jmigrate send-images --help')"), run.errLines());
    }

    @Test
    void networkOptionsWithoutAPageServerFailWithOneLine() throws IOException {
        Path images = tmp.resolve("images");
        String noSuchPid = Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).getFirst().strip();   // refused before it matters
        for (List<String> extra : List.of(List.of("--compress", "never"), List.of("--streams", "3"), List.of("--round", "r1"))) {
            for (String command : List.of("dump", "pre-dump")) {
                List<String> args = new java.util.ArrayList<>(List.of(command, "-t", noSuchPid, "-D", images.toString()));
                args.addAll(extra);
                Run run = jmigrate(args.toArray(String[]::new));
                assertEquals(1, run.exit(), run.err());
                assertEquals(List.of("jmigrate: " + extra.getFirst() + " only applies with --page-server (images go to -D "
                        + images + ")"), run.errLines());
                assertFalse(Files.exists(images), "nothing was written");
            }
        }
    }

    @Test
    void restoreFromAMissingDirectoryFailsWithOneLine() {
        Path missing = tmp.resolve("missing");
        Run run = jmigrate("restore", "-D", missing.toString());
        assertEquals(1, run.exit());
        assertEquals(List.of("jmigrate: " + missing + " does not exist"), run.errLines());
        assertEquals("", run.out(), "no PID printed");
    }

    @Test
    void restoreShellJobWithoutATerminalFailsWithOneLine() {
        org.junit.jupiter.api.Assumptions.assumeTrue(io.jmigrate.engine.restore.ShellJob.ownTerminal().isEmpty(),
                "this JVM has a terminal");
        Run run = jmigrate("restore", "--shell-job", "-D", tmp.resolve("missing").toString());
        assertEquals(1, run.exit());
        assertEquals(List.of("jmigrate: --shell-job: none of jmigrate's stdin, stdout and stderr is a terminal to connect "
                + "the process to"), run.errLines());
        Run dump = jmigrate("dump", "--shell-job", "-t", "999999999", "-D", tmp.resolve("images").toString());
        assertEquals(List.of("jmigrate: no process with PID 999999999"), dump.errLines(), "dump takes --shell-job");
    }

    @Test
    void showPrintsARealDumpAsJson() {
        Path log = tmp.resolve("memhog.log");
        int pid = startMemhog(log);
        awaitTicks(log, 3);
        Path images = tmp.resolve("images");
        Run dump = jmigrate("dump", "-t", Integer.toString(pid), "-D", images.toString(), "--leave-running");
        assertEquals(0, dump.exit(), dump.err());
        assertTrue(Signals.exists(pid), "--leave-running left it running");

        Run show = jmigrate("show", "-D", images.toString());
        assertEquals(0, show.exit(), show.err());
        assertEquals("", show.err());
        JsonObject doc = JsonParser.parseString(show.out()).getAsJsonObject();   // fails unless it is valid JSON
        assertEquals(pid, doc.getAsJsonObject("inventory").get("root_pid").getAsInt());
        JsonObject process = doc.getAsJsonArray("processes").get(0).getAsJsonObject();
        assertEquals(pid, process.getAsJsonObject("core").get("pid").getAsInt());
        assertEquals("memhog", process.getAsJsonObject("summary").get("comm").getAsString());
        JsonObject firstVma = process.getAsJsonObject("mm").getAsJsonArray("vmas").get(0).getAsJsonObject();
        for (String field : List.of("start", "end")) {
            String value = firstVma.get(field).getAsString();
            assertTrue(value.matches("0x[0-9a-f]+"), () -> field + " is a hex address: " + value);
        }
        assertTrue(anyString(doc, s -> s.matches("0x[0-9a-f]{8,}")), "addresses are printed as 0x... strings");
    }

    @Test
    void checkExitsZeroAndReportsPagemapScan() {
        Run run = jmigrate("check");
        assertEquals(0, run.exit(), () -> "essential features missing:\n" + run.out() + run.err());
        assertTrue(run.out().contains("pagemap-scan"), run.out());
    }

    @Test
    void dumpAndRestoreThroughTheCommandLine() {
        Path log = tmp.resolve("memhog.log");
        int pid = startMemhog(log);
        awaitTicks(log, 3);
        Path images = tmp.resolve("images");

        Run dump = jmigrate("dump", "-t", Integer.toString(pid), "-D", images.toString());
        assertEquals(0, dump.exit(), dump.err());
        assertEquals("", dump.out());
        assertEquals(1, dump.errLines().size(), dump.err());
        assertTrue(dump.err().startsWith("dumped PID " + pid + " to " + images), dump.err());
        assertTrue(Reaper.awaitGone(pid, Duration.ofSeconds(10)), "dump killed the process");
        long ticksAtDump = lastTick(lines(log));

        Run restore = jmigrate("restore", "-D", images.toString());
        assertEquals(0, restore.exit(), restore.err());
        assertEquals(pid + "\n", restore.out(), "restore prints the PID, and only that");
        assertEquals("", restore.err());
        List<String> after = awaitLog(log, "ticks after restore", l -> lastTick(l) >= ticksAtDump + 3);
        assertTrue(Signals.exists(pid));
        assertConsecutiveTicks(after);
    }

    @Test
    void preDumpRoundsThenAFinalDumpAndRestoreThroughTheCommandLine() {
        Path log = tmp.resolve("memhog-pre.log");
        int pid = startMemhog(log);
        awaitTicks(log, 3);
        String p = Integer.toString(pid);
        Path pre1 = tmp.resolve("pre1"), pre2 = tmp.resolve("pre2"), fin = tmp.resolve("final");

        Run bad = jmigrate("pre-dump", "-t", p, "-D", pre1.toString(), "--dirty-tracking", "magic");
        assertEquals(1, bad.exit());
        assertTrue(bad.err().startsWith("jmigrate: unknown --dirty-tracking magic"), bad.err());

        Run networked = jmigrate("pre-dump", "-t", p, "--page-server", "127.0.0.1:1", "--auto-dedup");
        assertEquals(1, networked.exit());
        assertEquals("jmigrate: --auto-dedup works on local image sets only: the page server holds the chain of"
                + " --page-server rounds\n", networked.err());

        Run first = jmigrate("pre-dump", "-t", p, "-D", pre1.toString(), "--auto-dedup");
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.err().contains("auto-dedup: " + pre1 + " has no parent set (no --prev-images-dir): nothing to drop"), first.err());
        assertEquals("", first.out());
        assertTrue(first.err().contains("round 1 of PID " + pid), first.err());
        assertTrue(first.err().contains("pre-dumped PID " + pid + " to " + pre1 + " (uffd-wp-async)"), first.err());
        assertTrue(Signals.exists(pid), "pre-dump leaves the process running");
        Run second = jmigrate("pre-dump", "-t", p, "-D", pre2.toString(), "--prev-images-dir", pre1.toString(), "--auto-dedup");
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.err().contains("pre-dump: auto-dedup: " + pre1.toAbsolutePath() + ": "), second.err());
        assertTrue(second.err().contains("round 2 of PID " + pid), second.err());

        Run dump = jmigrate("dump", "-t", p, "-D", fin.toString(), "--prev-images-dir", pre2.toString(), "--auto-dedup");
        assertEquals(0, dump.exit(), dump.err());
        assertTrue(dump.err().contains("dump: auto-dedup: " + pre2.toAbsolutePath() + ": ")
                && dump.err().contains("dump: auto-dedup: " + pre1.toAbsolutePath() + ": "), dump.err());
        assertTrue(jmigrate("show", "-D", pre1.toString()).out().contains("\"deduplicated\": true"));
        assertTrue(dump.err().contains("unchanged, left to " + pre2), dump.err());
        assertTrue(Reaper.awaitGone(pid, Duration.ofSeconds(10)), "dump killed the process");
        long ticksAtDump = lastTick(lines(log));

        Run restoreOfAPreDump = jmigrate("restore", "-D", pre2.toString());
        assertEquals(1, restoreOfAPreDump.exit());
        assertTrue(restoreOfAPreDump.err().contains("is a pre-dump"), restoreOfAPreDump.err());
        Run restore = jmigrate("restore", "-D", fin.toString());
        assertEquals(0, restore.exit(), restore.err());
        assertEquals(pid + "\n", restore.out());
        List<String> after = awaitLog(log, "ticks after restore", l -> lastTick(l) >= ticksAtDump + 3);
        assertConsecutiveTicks(after);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private int startMemhog(Path log) {
        int pid = spawnMemhog(log, 8);
        started.add(pid);
        return pid;
    }

    private static List<String> awaitLog(Path log, String what, Predicate<List<String>> condition) {
        return CliHarness.awaitLog(log, TIMEOUT, what, condition);
    }

    private static void awaitTicks(Path log, long n) {
        awaitLog(log, n + " ticks", l -> lastTick(l) >= n);
    }



    private static boolean anyString(JsonElement e, Predicate<String> test) {
        if (e.isJsonPrimitive()) return e.getAsJsonPrimitive().isString() && test.test(e.getAsString());
        if (e.isJsonArray()) {
            for (JsonElement x : e.getAsJsonArray()) if (anyString(x, test)) return true;
        } else if (e.isJsonObject()) {
            for (var x : e.getAsJsonObject().entrySet()) if (anyString(x.getValue(), test)) return true;
        }
        return false;
    }
}
