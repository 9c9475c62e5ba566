package io.jmigrate.engine.dump;

import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.proc.ProcStat;
import io.jmigrate.engine.proc.ProcStatus;

import java.util.List;

/** Checks made before the process is touched: a refusal here costs the process nothing. */
final class Preflight {
    private Preflight() {}

    static void check(ProcFs procfs, int pid) {
        check(procfs, pid, false);
    }

    /** The checks that still apply once the process is frozen by us (a tracer is expected: us). */
    static void checkFrozen(ProcFs procfs, int pid) {
        check(procfs, pid, true);
    }

    /** @param frozenByUs the process is seized by us already, so a tracer (us) is expected */
    static void check(ProcFs procfs, int pid, boolean frozenByUs) {
        if (pid <= 0) throw new DumpRefusedException("invalid PID " + pid + ": give the PID of a running process");
        if (!procfs.exists(pid)) throw new DumpRefusedException("no process with PID " + pid);
        if (pid == ProcessHandle.current().pid()) {
            throw new DumpRefusedException("PID " + pid + " is jmigrate itself; it cannot checkpoint itself");
        }
        ProcStat stat = procfs.stat(pid);
        if (stat.isKernelThread()) {
            throw new DumpRefusedException("PID " + pid + " (" + stat.comm() + ") is a kernel thread; only user processes can be dumped");
        }
        if (stat.state() == 'Z' || stat.state() == 'X') {
            throw new DumpRefusedException("PID " + pid + " (" + stat.comm() + ") is a zombie: it has exited and has no state left to dump");
        }
        ProcStatus status = procfs.status(pid);
        if (status.tracerPid() != 0 && !frozenByUs) {
            throw new DumpRefusedException("PID " + pid + " (" + stat.comm() + ") is being traced by PID " + status.tracerPid()
                    + " (a debugger or strace?); detach it first");
        }
        // State the restore does not carry over yet: refused rather than silently lost.
        String timers = procfs.readText(pid, "timers").strip();
        if (!timers.isEmpty()) {
            throw new DumpRefusedException("PID " + pid + " (" + stat.comm() + ") has POSIX timers (timer_create); timers are not supported yet");
        }
    }
}
