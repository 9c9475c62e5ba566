package io.jmigrate.engine.compel;

import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.SyscallNumbers;
import io.jmigrate.engine.sys.UserRegs;
import io.jmigrate.engine.sys.Wait;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs system calls inside a stopped task: registers set for the call, rip at a syscall instruction of its
 * vDSO, then PTRACE_SYSCALL to the syscall-exit stop and read rax. The task's own registers are put back by
 * whoever owns them ({@link FrozenProcess#resume()}); this class only borrows the task.
 * Use from the tracer thread only.
 */
public final class RemoteSyscalls {
    private static final long MAX_ERRNO = 4095;

    private final int tid;
    private long site;
    private final UserRegs base;
    private final StoppedThread owner;
    private final List<Integer> newChildren = new ArrayList<>();

    /** @param base registers the task is given around each call (segment registers etc. must be valid) */
    public RemoteSyscalls(int tid, long site, UserRegs base, StoppedThread owner) {
        this.tid = tid;
        this.site = site;
        this.base = base;
        this.owner = owner;
    }

    public static RemoteSyscalls in(StoppedThread thread, int pid) {
        return new RemoteSyscalls(thread.tid(), SyscallSite.find(pid), thread.savedRegs(), thread);
    }

    public int tid() { return tid; }

    public long site() { return site; }

    /** The vDSO holding our syscall instruction moved (restore relocates it): follow it. */
    public void moveSite(long delta) { site += delta; }

    /** Runs system call {@code nr}; a -errno result becomes an {@link ErrnoException} naming {@code what}. */
    public long call(String what, int nr, long... args) {
        long result = callRaw(nr, args);
        if (result < 0 && result >= -MAX_ERRNO) {
            throw new ErrnoException(what + " in task " + tid, (int) -result);
        }
        return result;
    }

    /** Runs system call {@code nr} and returns rax as the kernel left it (negative errno on failure). */
    public long callRaw(int nr, long... args) {
        start(nr, args);
        return finish();
    }

    /**
     * Starts system call {@code nr} and returns once the task is inside it, so the caller can work while the
     * task's kernel side runs (a long pwritev, say). {@link #finish()} collects the result.
     */
    public void start(int nr, long... args) {
        Ptrace.setRegs(tid, base.forSyscall(site, nr, args));
        Ptrace.syscall(tid, 0);
        awaitSyscallStop();            // entry
        Ptrace.syscall(tid, 0);
    }

    /** Waits for the call begun by {@link #start} to return; rax as the kernel left it. */
    public long finish() {
        awaitSyscallStop();            // exit
        return Ptrace.getRegs(tid).rax();
    }

    /** {@link #finish()}, with a -errno result turned into an {@link ErrnoException} naming {@code what}. */
    public long finish(String what) {
        long result = finish();
        if (result < 0 && result >= -MAX_ERRNO) throw new ErrnoException(what + " in task " + tid, (int) -result);
        return result;
    }

    /** PIDs of children this task created (clone events) during injected calls, oldest first. */
    public List<Integer> newChildren() { return newChildren; }

    private void awaitSyscallStop() {
        while (true) {
            Wait.Status st = Wait.waitpid(tid, 0);
            if (st.gone()) throw new CompelException("task " + tid + " died during an injected system call: " + st);
            if (!st.stopped()) continue;
            if (st.syscallStop()) return;
            int event = st.event();
            if (event == Ptrace.EVENT_CLONE || event == Ptrace.EVENT_FORK || event == Ptrace.EVENT_VFORK) {
                newChildren.add((int) Ptrace.eventMessage(tid));
                Ptrace.syscall(tid, 0);
                continue;
            }
            if (event != 0) {                  // a group stop or another event: not ours to act on
                Ptrace.syscall(tid, 0);
                continue;
            }
            int sig = st.stopSignal();
            if (sig == Signals.SIGSEGV || sig == Signals.SIGBUS || sig == Signals.SIGILL || sig == Signals.SIGFPE) {
                throw new CompelException("task " + tid + " faulted (" + Signals.name(sig) + ") at rip 0x"
                        + Long.toHexString(Ptrace.getRegs(tid).rip()) + " during an injected system call");
            }
            // A signal arrived while the task ran our call. Delivering it now would run its handler on borrowed
            // registers: hold it back and send it again when the task is released.
            if (owner != null) owner.deferSignal(sig);
            Ptrace.syscall(tid, 0);
        }
    }

    public static long mmapAnon(RemoteSyscalls rs, long hint, long len, int extraFlags) {
        return rs.call("mmap scratch", SyscallNumbers.MMAP, hint, len, 3 /* RW */, 0x22 | extraFlags, -1, 0);
    }
}
