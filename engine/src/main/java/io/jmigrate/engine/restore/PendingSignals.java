package io.jmigrate.engine.restore;

import com.google.protobuf.ByteString;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.sys.ProcessVm;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Queues the signals that were pending at the dump, with their full siginfo. Only the process itself may queue
 * a signal with an arbitrary si_code, so rt_tgsigqueueinfo / rt_sigqueueinfo run inside the puppet, after its
 * signal mask is set. The siginfo goes below the restored stack pointer, past the red zone: memory the program
 * treats as free, so nothing needs cleaning up. Blocked signals are queued first; an unblocked one can be
 * delivered at once and would interrupt the next injected call (it is then re-sent at release).
 */
final class PendingSignals {
    private static final int RT_SIGQUEUEINFO = 129, SIGINFO_SIZE = 128, RED_ZONE = 128;

    private PendingSignals() {}

    /** The process-wide queue, through the leader. */
    static void requeueShared(Puppet leader, ProcessCore core, ThreadCore leaderCore) {
        queue(leader, leaderCore, core.getSharedPendingSignalsList(), true);
    }

    /** The thread's own queue, through that thread. */
    static void requeue(Puppet inThread, ThreadCore thread) {
        queue(inThread, thread, thread.getPendingSignalsList(), false);
    }

    private static void queue(Puppet puppet, ThreadCore thread, List<ByteString> signals, boolean shared) {
        if (signals.isEmpty()) return;
        long info = (thread.getRegs().getRsp() - RED_ZONE - SIGINFO_SIZE - 64) & ~15L;
        List<ByteString> ordered = new ArrayList<>(signals);
        ordered.sort((a, b) -> Boolean.compare(blocked(thread, b), blocked(thread, a)));
        for (ByteString s : ordered) {
            byte[] siginfo = s.toByteArray();
            int sig = ByteBuffer.wrap(siginfo).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
            ProcessVm.writeBytes(puppet.pid, info, siginfo);
            if (shared) {
                puppet.call("rt_sigqueueinfo(" + sig + ")", RT_SIGQUEUEINFO, puppet.pid, sig, info);
            } else {
                puppet.call("rt_tgsigqueueinfo(" + sig + ")", SyscallNumbers.RT_TGSIGQUEUEINFO, puppet.pid, thread.getTid(),
                        sig, info);
            }
        }
    }

    private static boolean blocked(ThreadCore thread, ByteString siginfo) {
        int sig = ByteBuffer.wrap(siginfo.toByteArray()).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        return (thread.getSigmask() & (1L << (sig - 1))) != 0;
    }
}
