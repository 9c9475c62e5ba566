package io.jmigrate.engine.sys;

import java.time.Duration;

/**
 * Reaping processes that are our children but not the JDK's (spawned by {@link Spawn}, or orphans re-parented to
 * us as child subreaper). A dead child left unreaped keeps its PID, and a same-PID restore then fails.
 */
public final class Reaper {
    private Reaper() {}

    /** Reaps {@code pid} if it is our child and has ended; returns true once it has been reaped or is not ours. */
    public static boolean tryReap(int pid) {
        try {
            return Wait.waitpid(pid, Wait.WNOHANG).pid() == pid;
        } catch (ErrnoException e) {
            if (e.is(Errno.ECHILD)) return true;
            throw e;
        }
    }

    /** Kills {@code pid} with SIGKILL and waits, reaping it if it is ours, until the PID is free or the deadline passes. */
    public static boolean killAndReap(int pid, Duration timeout) {
        try {
            Signals.kill(pid, Signals.SIGKILL);
        } catch (ErrnoException e) {
            if (!e.is(Errno.ESRCH)) throw e;
        }
        return awaitGone(pid, timeout);
    }

    /** Waits until no process holds {@code pid}, reaping it when it is our child. */
    public static boolean awaitGone(int pid, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pauseNanos = 100_000;
        while (true) {
            tryReap(pid);
            if (!Signals.exists(pid)) return true;
            if (System.nanoTime() > deadline) return false;
            java.util.concurrent.locks.LockSupport.parkNanos(pauseNanos);
            pauseNanos = Math.min(pauseNanos * 2, 10_000_000);
        }
    }
}
