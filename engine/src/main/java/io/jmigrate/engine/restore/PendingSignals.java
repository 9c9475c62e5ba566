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

    static void requeue(Puppet puppet, ProcessCore core, ThreadCore thread) {
        List<ByteString> shared = core.getSharedPendingSignalsList();
        List<ByteString> own = thread.getPendingSignalsList();
        if (shared.isEmpty() && own.isEmpty()) return;
        long rsp = thread.getRegs().getRsp();
        long info = (rsp - RED_ZONE - SIGINFO_SIZE - 64) & ~15L;
        List<Object[]> ordered = new ArrayList<>();
        for (ByteString s : own) ordered.add(new Object[]{s, false});
        for (ByteString s : shared) ordered.add(new Object[]{s, true});
        ordered.sort((a, b) -> Boolean.compare(blocked(thread, (ByteString) b[0]), blocked(thread, (ByteString) a[0])));
        for (Object[] entry : ordered) {
            byte[] siginfo = ((ByteString) entry[0]).toByteArray();
            int sig = ByteBuffer.wrap(siginfo).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
            ProcessVm.writeBytes(puppet.pid, info, siginfo);
            if ((Boolean) entry[1]) {
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
