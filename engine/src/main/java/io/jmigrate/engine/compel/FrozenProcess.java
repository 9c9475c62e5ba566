package io.jmigrate.engine.compel;

import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.Wait;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A process whose every thread is seized and stopped by us. It must end in exactly one of {@link #resume()}
 * (everything put back, the process runs on as before) or {@link #kill()}. Use only from the tracer thread.
 */
public final class FrozenProcess implements AutoCloseable {
    private final int pid;
    private final List<StoppedThread> threads;
    private final long frozenAtNanos;
    private boolean released;

    FrozenProcess(int pid, List<StoppedThread> threads, long frozenAtNanos) {
        this.pid = pid;
        this.threads = List.copyOf(threads);
        this.frozenAtNanos = frozenAtNanos;
    }

    public int pid() { return pid; }

    /** Threads with the leader first. */
    public List<StoppedThread> threads() { return threads; }

    public StoppedThread leader() { return threads.getFirst(); }

    public long frozenAtNanos() { return frozenAtNanos; }

    /** Puts back every thread's registers, re-sends deferred signals and detaches: the process carries on. */
    public void resume() {
        if (released) return;
        released = true;
        List<RuntimeException> failures = new ArrayList<>();
        for (StoppedThread t : threads) {
            try {
                Ptrace.setRegs(t.tid(), t.savedRegs());
                Ptrace.detach(t.tid(), 0);
            } catch (ErrnoException e) {
                if (!e.is(Errno.ESRCH)) failures.add(e);
            }
        }
        for (StoppedThread t : threads) {
            for (int sig : t.deferredSignals()) {
                try {
                    Signals.tgkill(pid, t.tid(), sig);
                } catch (ErrnoException e) {
                    failures.add(e);
                }
            }
        }
        if (!failures.isEmpty()) {
            CompelException e = new CompelException("resuming process " + pid + " failed: " + failures.getFirst().getMessage());
            failures.forEach(e::addSuppressed);
            throw e;
        }
    }

    /** Kills the process and waits until the kernel has reported every thread gone. */
    public void kill() {
        if (released) return;
        released = true;
        Signals.kill(pid, Signals.SIGKILL);
        List<Integer> waiting = new ArrayList<>(threads.stream().map(StoppedThread::tid).toList());
        Collections.reverse(waiting);               // the leader is reported last, after its threads
        for (int tid : waiting) {
            while (true) {
                Wait.Status st;
                try {
                    st = Wait.waitpid(tid, 0);
                } catch (ErrnoException e) {
                    if (e.is(Errno.ECHILD)) break;
                    throw e;
                }
                if (st.gone()) break;
                // still in a stop: let it go on to die
                try { Ptrace.cont(tid, 0); } catch (ErrnoException e) { if (!e.is(Errno.ESRCH)) throw e; }
            }
        }
    }

    public boolean released() { return released; }

    /** A process never left frozen by accident: close resumes it unless it was resumed or killed already. */
    @Override
    public void close() {
        resume();
    }
}
