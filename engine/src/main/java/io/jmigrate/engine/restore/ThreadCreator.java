package io.jmigrate.engine.restore;

import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.compel.StoppedThread;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.sys.Ptrace;

/**
 * Creates the puppet's other threads with their dumped TIDs: clone3 with the flags of a pthread and set_tid,
 * injected into the leader. The new thread is attached to us from birth (PTRACE_O_TRACECLONE) and stopped before
 * it runs a single instruction, so its stack pointer does not matter: its registers are set before release.
 */
final class ThreadCreator {
    private static final long CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800,
            CLONE_THREAD = 0x10000, CLONE_SYSVSEM = 0x40000;
    private static final long THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;

    private ThreadCreator() {}

    static ThreadTask create(Puppet leader, ThreadCore thread) {
        int tid = thread.getTid();
        Ptrace.setOptions(leader.pid, Ptrace.O_TRACESYSGOOD | Ptrace.O_TRACECLONE | Ptrace.O_EXITKILL);
        ProcessForker.cloneWithId(leader, THREAD_FLAGS, 0, tid, "thread ID ");
        StoppedThread held = StoppedThread.held(tid, Ptrace.getRegs(tid));
        Puppet inThread = leader.inThread(new RemoteSyscalls(tid, leader.syscalls.site(), held.savedRegs(), held));
        TaskStateRestorer.restoreThread(inThread, thread);
        return new ThreadTask(thread, inThread, held);
    }
}
