package io.jmigrate.engine.dump;

import com.google.protobuf.ByteString;
import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.compel.StoppedThread;
import io.jmigrate.engine.image.proto.Rseq;
import io.jmigrate.engine.image.proto.SignalStack;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.sys.ProcessVm;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.RobustList;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The per-thread state: registers, FPU/vector state, signal mask and queue, and the addresses the kernel keeps
 * for the thread (clear_child_tid, robust futex list, rseq area, alternate signal stack). The last two kinds
 * only the thread itself can report, so they are asked through injected system calls.
 */
final class ThreadCollector {
    private static final int PR_GET_TID_ADDRESS = 40;

    private ThreadCollector() {}

    static ThreadCore collect(StoppedThread thread, String comm, RemoteSyscalls inThread, long scratch) {
        int tid = thread.tid();
        ThreadCore.Builder b = ThreadCore.newBuilder()
                .setTid(tid)
                .setComm(comm)
                .setRegs(RegsProto.toProto(thread.savedRegs()))
                .setXstate(ByteString.copyFrom(Ptrace.getXstate(tid)));
        for (byte[] info : Ptrace.peekSiginfo(tid, false)) b.addPendingSignals(ByteString.copyFrom(info));
        long[] rseq = Ptrace.rseqConfiguration(tid);
        if (rseq[0] != 0) {
            b.setRseq(Rseq.newBuilder().setPointer(rseq[0]).setSize((int) rseq[1]).setSignature((int) rseq[2])
                    .setFlags((int) rseq[3]));
        }
        long[] robust = RobustList.get(tid);
        b.setRobustListHead(robust[0]).setRobustListLen(robust[1]);

        inThread.call("prctl(PR_GET_TID_ADDRESS)", SyscallNumbers.PRCTL, PR_GET_TID_ADDRESS, scratch);
        b.setClearChildTid(readLongs(tid, scratch, 1)[0]);
        inThread.call("sigaltstack", SyscallNumbers.SIGALTSTACK, 0, scratch);
        ByteBuffer ss = ByteBuffer.wrap(ProcessVm.readBytes(tid, scratch, 24)).order(ByteOrder.LITTLE_ENDIAN);
        b.setSigaltstack(SignalStack.newBuilder().setSp(ss.getLong(0)).setFlags(ss.getInt(8)).setSize(ss.getLong(16)));
        // Read after the injected calls: a thread stopped in sigsuspend/ppoll/pselect shows its temporary mask
        // until it passes the kernel's exit path once, which puts back the real one (restore_saved_sigmask).
        b.setSigmask(Ptrace.getSigmask(tid));
        return b.build();
    }

    static long[] readLongs(int pid, long remote, int count) {
        ByteBuffer buf = ByteBuffer.wrap(ProcessVm.readBytes(pid, remote, count * 8)).order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[count];
        for (int i = 0; i < count; i++) out[i] = buf.getLong(i * 8);
        return out;
    }
}
