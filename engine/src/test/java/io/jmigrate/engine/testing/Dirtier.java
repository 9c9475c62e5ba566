package io.jmigrate.engine.testing;

import io.jmigrate.engine.sys.Signals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dirtier fixture (fixtures/dirtier.c) asked for its verdict: on SIGUSR1 it checks every page and logs
 * "verified N pages, W page writes, C churns" (or "verify FAILED ...").
 */
public final class Dirtier {
    private Dirtier() {}

    /** Asks for a verdict and returns it; fails the test unless it says "verified". */
    public static String verdict(int pid, Path log, Duration timeout) {
        long before = Workloads.lines(log).stream().filter(s -> s.startsWith("verif")).count();
        Signals.kill(pid, Signals.SIGUSR1);
        List<String> lines = Workloads.awaitLog(log, timeout, "a verdict",
                l -> l.stream().filter(s -> s.startsWith("verif")).count() > before);
        String verdict = lines.stream().filter(s -> s.startsWith("verif")).toList().getLast();
        assertTrue(verdict.startsWith("verified"), String.join("\n", lines));
        return verdict;
    }

    /** The page writes a verdict counts (W in "verified N pages, W page writes, C churns"). */
    public static long pageWrites(String verdict) {
        return Long.parseLong(verdict.split(" ")[3]);
    }

    /** Waits, on the fixture's own count, until it made {@code n} more page writes than now. */
    public static void awaitPageWrites(int pid, Path log, long n, Duration timeout) {
        long since = pageWrites(verdict(pid, log, timeout));
        long deadline = System.nanoTime() + timeout.toNanos();
        while (pageWrites(verdict(pid, log, timeout)) < since + n) {
            if (System.nanoTime() > deadline) throw new AssertionError("the fixture did not write " + n + " pages in " + timeout);
        }
    }
}
