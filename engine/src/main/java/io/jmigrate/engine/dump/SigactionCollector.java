package io.jmigrate.engine.dump;

import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.image.proto.SigAction;
import io.jmigrate.engine.proc.ProcStatus;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.util.ArrayList;
import java.util.List;

/**
 * Signal dispositions. Only the process can report a handler's address, flags and mask, so rt_sigaction is
 * injected — but only for signals /proc says are caught: each injected call costs frozen time.
 * Ignored signals need no call: SIG_IGN has no flags or mask worth keeping.
 */
final class SigactionCollector {
    private static final long SIG_IGN = 1;
    private static final int KERNEL_SIGSET_SIZE = 8;

    private SigactionCollector() {}

    static List<SigAction> collect(int pid, ProcStatus status, RemoteSyscalls leader, long scratch) {
        List<SigAction> actions = new ArrayList<>();
        for (int sig = 1; sig <= Signals.NSIG; sig++) {
            long bit = 1L << (sig - 1);
            if ((status.sigCgt() & bit) != 0) {
                leader.call("rt_sigaction(" + Signals.name(sig) + ")", SyscallNumbers.RT_SIGACTION, sig, 0, scratch,
                        KERNEL_SIGSET_SIZE);
                long[] act = ThreadCollector.readLongs(pid, scratch, 4);    // struct kernel_sigaction
                actions.add(SigAction.newBuilder().setSignal(sig).setHandler(act[0]).setFlags(act[1])
                        .setRestorer(act[2]).setMask(act[3]).build());
            } else if ((status.sigIgn() & bit) != 0) {
                actions.add(SigAction.newBuilder().setSignal(sig).setHandler(SIG_IGN).build());
            }
        }
        return actions;
    }
}
