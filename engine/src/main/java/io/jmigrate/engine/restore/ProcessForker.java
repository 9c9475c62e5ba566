package io.jmigrate.engine.restore;

import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.SyscallNumbers;

/**
 * Tasks with the IDs they had, made by clone3 with set_tid injected into a puppet: a child process (fork
 * semantics; it starts as a copy of its parent puppet, still the seed's image with the scratch area) or a thread
 * of the puppet. Either is attached to us from birth (PTRACE_O_TRACEFORK / TRACECLONE on the parent) and stopped
 * before its first instruction.
 */
final class ProcessForker {
    private static final int CLONE_ARGS_SIZE = 88;

    private ProcessForker() {}

    /** A child process of {@code parent} with PID {@code pid}. */
    static void fork(Puppet parent, int pid) {
        cloneWithId(parent, 0, Signals.SIGCHLD, pid, "PID ");
    }

    /**
     * A task with ID {@code id}: struct clone_args {flags, pidfd, child_tid, parent_tid, exit_signal, stack,
     * stack_size, tls, set_tid, set_tid_size, cgroup} placed in the parent's scratch area.
     */
    static void cloneWithId(Puppet parent, long flags, int exitSignal, int id, String what) {
        parent.resetScratch();
        long setTid = parent.put(new byte[]{(byte) id, (byte) (id >> 8), (byte) (id >> 16), (byte) (id >> 24)});
        long[] args = new long[CLONE_ARGS_SIZE / 8];
        args[0] = flags;
        args[4] = exitSignal;
        args[8] = setTid;
        args[9] = 1;
        long argsAddr = parent.putLongs(args);
        long created;
        try {
            created = parent.call("clone3 " + what + id, SyscallNumbers.CLONE3, argsAddr, CLONE_ARGS_SIZE);
        } catch (ErrnoException e) {
            if (e.is(Errno.EEXIST)) throw new RestoreException(what + id + " is already in use: " + SeedSpawner.describe(id));
            throw e;
        }
        if (created != id) throw new RestoreException("clone3 gave " + what + created + " instead of " + id);
        SeedSpawner.awaitEventStop(id);
    }
}
