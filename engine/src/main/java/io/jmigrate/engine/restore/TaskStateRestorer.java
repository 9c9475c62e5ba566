package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.Rlimit;
import io.jmigrate.engine.image.proto.SigAction;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.Rlimits;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** Everything about the task that is neither memory nor files: limits, signals, identity, per-thread kernel state. */
final class TaskStateRestorer {
    private static final int PR_SET_NAME = 15, RSEQ_FLAG_UNREGISTER = 1, SS_DISABLE = 2, KERNEL_SIGSET_SIZE = 8;

    private TaskStateRestorer() {}

    /** The seed's rseq area would be written by the kernel into memory we are about to replace: drop it first. */
    static void unregisterInheritedRseq(Puppet puppet) {
        long[] rseq = Ptrace.rseqConfiguration(puppet.pid);
        if (rseq[0] == 0) return;
        puppet.call("rseq unregister", SyscallNumbers.RSEQ, rseq[0], rseq[1], RSEQ_FLAG_UNREGISTER, rseq[2]);
    }

    static void restoreProcess(Puppet puppet, ProcessCore core, List<String> warnings) {
        for (Rlimit l : core.getRlimitsList()) restoreRlimit(puppet.pid, l, warnings);
        for (SigAction a : core.getSigactionsList()) {
            puppet.resetScratch();
            long act = puppet.putLongs(a.getHandler(), a.getFlags(), a.getRestorer(), a.getMask());
            puppet.call("rt_sigaction(" + a.getSignal() + ")", SyscallNumbers.RT_SIGACTION, a.getSignal(), act, 0,
                    KERNEL_SIGSET_SIZE);
        }
        puppet.call("umask", SyscallNumbers.UMASK, core.getUmask());
        puppet.resetScratch();
        if (!core.getRoot().equals("/")) {
            puppet.call("chroot " + core.getRoot(), SyscallNumbers.CHROOT, puppet.putString(core.getRoot()));
        }
        puppet.call("chdir " + core.getCwd(), SyscallNumbers.CHDIR, puppet.putString(core.getCwd()));
        if (core.getPersonality() != 0) puppet.call("personality", SyscallNumbers.PERSONALITY, core.getPersonality());
        for (var timer : core.getItimersList()) {
            puppet.resetScratch();
            long value = puppet.putLongs(timer.getIntervalUsec() / 1_000_000, timer.getIntervalUsec() % 1_000_000,
                    timer.getValueUsec() / 1_000_000, timer.getValueUsec() % 1_000_000);
            puppet.call("setitimer(" + timer.getWhich() + ")", SyscallNumbers.SETITIMER, timer.getWhich(), value, 0);
        }
        byte[] comm = core.getComm().getBytes(StandardCharsets.UTF_8);
        byte[] name = new byte[16];
        System.arraycopy(comm, 0, name, 0, Math.min(15, comm.length));
        puppet.call("prctl(PR_SET_NAME)", SyscallNumbers.PRCTL, PR_SET_NAME, puppet.put(name));
    }

    /** Kernel-held per-thread addresses; must run in that thread, after its memory is back. */
    static void restoreThread(Puppet puppet, ThreadCore thread) {
        puppet.resetScratch();
        if (!thread.getComm().isEmpty()) {
            byte[] comm = thread.getComm().getBytes(StandardCharsets.UTF_8);
            byte[] name = new byte[16];
            System.arraycopy(comm, 0, name, 0, Math.min(15, comm.length));
            puppet.call("prctl(PR_SET_NAME) of thread " + thread.getTid(), SyscallNumbers.PRCTL, PR_SET_NAME, puppet.put(name));
        }
        puppet.call("set_tid_address", SyscallNumbers.SET_TID_ADDRESS, thread.getClearChildTid());
        if (thread.getRobustListHead() != 0) {
            puppet.call("set_robust_list", SyscallNumbers.SET_ROBUST_LIST, thread.getRobustListHead(),
                    thread.getRobustListLen());
        }
        if (thread.hasRseq() && thread.getRseq().getPointer() != 0) {
            puppet.call("rseq register", SyscallNumbers.RSEQ, thread.getRseq().getPointer(), thread.getRseq().getSize(),
                    0, thread.getRseq().getSignature());
        }
        if (thread.hasSigaltstack() && (thread.getSigaltstack().getFlags() & SS_DISABLE) == 0) {
            long ss = puppet.putLongs(thread.getSigaltstack().getSp(),
                    Integer.toUnsignedLong(thread.getSigaltstack().getFlags()), thread.getSigaltstack().getSize());
            puppet.call("sigaltstack", SyscallNumbers.SIGALTSTACK, ss, 0);
        }
    }

    private static void restoreRlimit(int pid, Rlimit l, List<String> warnings) {
        try {
            Rlimits.set(pid, l.getResource(), l.getSoft(), l.getHard());
        } catch (ErrnoException e) {
            // Raising a hard limit needs CAP_SYS_RESOURCE; keep ours and clamp the soft limit under it.
            long[] now = Rlimits.get(pid, l.getResource());
            long soft = Long.compareUnsigned(l.getSoft(), now[1]) <= 0 ? l.getSoft() : now[1];
            Rlimits.set(pid, l.getResource(), soft, now[1]);
            warnings.add("limit " + l.getName() + ": hard limit " + unsigned(l.getHard()) + " could not be restored ("
                    + e.errnoName() + "); kept " + unsigned(now[1]) + ", soft limit " + unsigned(soft));
        }
    }

    private static String unsigned(long v) {
        return v == -1 ? "unlimited" : Long.toUnsignedString(v);
    }
}
