package io.jmigrate.engine.restore;

import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.compel.StoppedThread;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.SyscallNumbers;

/**
 * Creates the puppet's other threads with their dumped TIDs: clone3 with the flags of a pthread and set_tid,
 * injected into the leader. The new thread is attached to us from birth (PTRACE_O_TRACECLONE) and stopped before
 * it runs a single instruction, so its stack pointer does not matter: its registers are set before release.
 */
final class ThreadCreator {
    private static final long CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800,
            CLONE_THREAD = 0x10000, CLONE_SYSVSEM = 0x40000;
    private static final long THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
    private static final int CLONE_ARGS_SIZE = 88;

    private ThreadCreator() {}

    static ThreadTask create(Puppet leader, ThreadCore thread) {
        int tid = thread.getTid();
        Ptrace.setOptions(leader.pid, Ptrace.O_TRACESYSGOOD | Ptrace.O_TRACECLONE | Ptrace.O_EXITKILL);
        leader.resetScratch();
        long setTid = leader.put(new byte[]{(byte) tid, (byte) (tid >> 8), (byte) (tid >> 16), (byte) (tid >> 24)});
        long[] args = new long[CLONE_ARGS_SIZE / 8];
        args[0] = THREAD_FLAGS;
        args[8] = setTid;
        args[9] = 1;
        long argsAddr = leader.putLongs(args);
        long created;
        try {
            created = leader.call("clone3 thread " + tid, SyscallNumbers.CLONE3, argsAddr, CLONE_ARGS_SIZE);
        } catch (ErrnoException e) {
            if (e.is(Errno.EEXIST)) throw new RestoreException("thread ID " + tid + " is already in use: " + SeedSpawner.describe(tid));
            throw e;
        }
        if (created != tid) throw new RestoreException("clone3 gave thread ID " + created + " instead of " + tid);
        SeedSpawner.awaitEventStop(tid);
        StoppedThread held = StoppedThread.held(tid, Ptrace.getRegs(tid));
        Puppet inThread = leader.inThread(new RemoteSyscalls(tid, leader.syscalls.site(), held.savedRegs(), held));
        TaskStateRestorer.restoreThread(inThread, thread);
        return new ThreadTask(thread, inThread, held);
    }
}
