package io.jmigrate.engine.compel;

import io.jmigrate.engine.sys.UserRegs;

import java.util.ArrayList;
import java.util.List;

/**
 * One seized, stopped thread. {@code savedRegs} are its registers at the stop with the syscall-restart fix-up
 * applied: what it must get back before it runs again, whatever we did to it meanwhile.
 */
public final class StoppedThread {
    private final int tid;
    private final UserRegs savedRegs;
    /** Signals that arrived while we held the thread and were suppressed; re-sent when it is released. */
    private final List<Integer> deferredSignals = new ArrayList<>();

    StoppedThread(int tid, UserRegs savedRegs) {
        this.tid = tid;
        this.savedRegs = savedRegs;
    }

    /** A task we hold that was not frozen by the {@link Freezer} (a restore's puppet). */
    public static StoppedThread held(int tid, UserRegs regs) {
        return new StoppedThread(tid, regs);
    }

    public int tid() { return tid; }

    public UserRegs savedRegs() { return savedRegs; }

    void deferSignal(int sig) { deferredSignals.add(sig); }

    /** Signals that arrived while we held the thread; they must be sent again once it is released. */
    public List<Integer> deferredSignals() { return deferredSignals; }
}
