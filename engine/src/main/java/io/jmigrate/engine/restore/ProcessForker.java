package io.jmigrate.engine.restore;

import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.SyscallNumbers;

/**
 * A child of a puppet, with its dumped PID: clone3 with fork semantics and set_tid, injected into the parent.
 * The child starts as a copy of the parent puppet (still the seed's image, scratch area included) and is attached
 * to us from birth (PTRACE_O_TRACEFORK, inherited from the seed), stopped before its first instruction.
 */
final class ProcessForker {
    private static final int CLONE_ARGS_SIZE = 88;

    private ProcessForker() {}

    static void fork(Puppet parent, int pid) {
        parent.resetScratch();
        long setTid = parent.put(new byte[]{(byte) pid, (byte) (pid >> 8), (byte) (pid >> 16), (byte) (pid >> 24)});
        long[] args = new long[CLONE_ARGS_SIZE / 8];
        args[4] = Signals.SIGCHLD;          // exit_signal
        args[8] = setTid;
        args[9] = 1;
        long argsAddr = parent.putLongs(args);
        long child;
        try {
            child = parent.call("clone3 child " + pid, SyscallNumbers.CLONE3, argsAddr, CLONE_ARGS_SIZE);
        } catch (ErrnoException e) {
            if (e.is(Errno.EEXIST)) throw new RestoreException("PID " + pid + " is already in use: " + SeedSpawner.describe(pid));
            throw e;
        }
        if (child != pid) throw new RestoreException("clone3 gave PID " + child + " instead of " + pid);
        SeedSpawner.awaitEventStop(pid);
    }
}
