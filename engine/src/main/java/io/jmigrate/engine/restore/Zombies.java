package io.jmigrate.engine.restore;

import io.jmigrate.engine.compel.CompelException;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.Rlimits;
import io.jmigrate.engine.sys.SyscallNumbers;
import io.jmigrate.engine.sys.UserRegs;
import io.jmigrate.engine.sys.Wait;

/**
 * A zombie of the dumped tree: forked from its restored parent with its PID, given its process group, then made
 * to end the way it ended (exit code or terminating signal). Its parent, once released, can reap it and learn
 * that same status. The parent also gets a SIGCHLD for it after the restore, which it had had already.
 */
final class Zombies {
    private static final int SETPGID = 109, RLIMIT_CORE = 4;

    private Zombies() {}

    static void die(ProcessEntry e, long site, long scratch, long scratchSize) {
        int pid = e.getPid();
        UserRegs regs = Ptrace.getRegs(pid);
        Puppet puppet = new Puppet(pid, new io.jmigrate.engine.compel.RemoteSyscalls(pid, site, regs, null), scratch, scratchSize);
        TaskStateRestorer.unregisterInheritedRseq(puppet);
        if (e.getPgid() == pid) puppet.call("setpgid(0, 0)", SETPGID, 0, 0);
        else puppet.syscalls.callRaw(SETPGID, 0, e.getPgid());      // best effort: that group may not exist (yet)
        int status = e.getExitStatus();
        int signal = status & 0x7f;
        if (signal != 0) {
            Rlimits.set(pid, RLIMIT_CORE, 0, 0);                      // a core-dumping signal must not write a core
            Ptrace.setRegs(pid, regs.forSyscall(site, SyscallNumbers.KILL, pid, signal));
        } else {
            Ptrace.setRegs(pid, regs.forSyscall(site, SyscallNumbers.EXIT_GROUP, (status >> 8) & 0xff));
        }
        // Let it run its last system call; as its tracer we see it die first, then its parent may reap it.
        Ptrace.cont(pid, 0);
        while (true) {
            Wait.Status st = Wait.waitpid(pid, 0);
            if (st.gone()) return;
            if (st.stopped()) {
                int sig = st.event() == 0 && !st.syscallStop() ? st.stopSignal() : 0;
                Ptrace.cont(pid, sig);                                // deliver the fatal signal
                continue;
            }
            throw new CompelException("zombie " + pid + " did not end: " + st);
        }
    }
}
