package io.jmigrate.engine.testing;

import io.jmigrate.engine.sys.Prctl;
import io.jmigrate.engine.sys.Reaper;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.Spawn;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Starts real workloads for tests (our children, not the JDK's, so they can be traced), makes the test JVM the
 * child subreaper so restored processes re-parent to it and get reaped, and kills whatever is left at close.
 */
public final class Workloads implements AutoCloseable {
    private final List<Integer> pids = new ArrayList<>();

    static {
        Prctl.becomeChildSubreaper();
    }

    public static Path fixture(String name) {
        Path dir = Path.of(System.getProperty("jmigrate.fixtures", "../fixtures/build"));
        Path bin = dir.resolve(name);
        if (!Files.isExecutable(bin)) throw new IllegalStateException("fixture " + bin + " is not built (run make -C fixtures)");
        return bin.toAbsolutePath();
    }

    public int start(Path log, String... argv) {
        Spawn.Request request = Spawn.Request.of(List.of(argv)).withOutput(log).withCwd(log.getParent());
        int pid = Spawn.spawn(request);
        pids.add(pid);
        return pid;
    }

    /** Remembers a PID (a restored process) so it is killed and reaped at close. */
    public void adopt(int pid) {
        if (!pids.contains(pid)) pids.add(pid);
    }

    public static List<String> lines(Path log) {
        try {
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until the log satisfies {@code condition}; fails with the log's tail when the deadline passes. */
    public static List<String> awaitLog(Path log, Duration timeout, String what, Predicate<List<String>> condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<String> lines = lines(log);
            if (condition.test(lines)) return lines;
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what + "; log ends with "
                        + lines.subList(Math.max(0, lines.size() - 5), lines.size()));
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
    }

    public static List<String> awaitLines(Path log, int count, Duration timeout) {
        return awaitLog(log, timeout, count + " log lines", l -> l.size() >= count);
    }

    public static boolean alive(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    public static void awaitGone(int pid) {
        if (!Reaper.awaitGone(pid, Duration.ofSeconds(10))) throw new AssertionError("PID " + pid + " did not go away");
    }

    @Override
    public void close() {
        for (int pid : pids) {
            if (Signals.exists(pid)) Reaper.killAndReap(pid, Duration.ofSeconds(10));
        }
    }
}
