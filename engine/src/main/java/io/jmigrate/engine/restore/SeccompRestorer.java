package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.SeccompFilter;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Puts a thread's seccomp state back. It runs while the puppet is still root (installing a filter without
 * no_new_privs needs CAP_SYS_ADMIN, which the credentials step may drop), and the thread's filters are suspended
 * for its tracer from here on (PTRACE_O_SUSPEND_SECCOMP), so the system calls we still inject — credentials,
 * signals, the last munmap — are not judged by them. Detaching ends the suspension: the filters apply from the
 * first instruction the restored thread runs.
 */
final class SeccompRestorer {
    private static final int SET_MODE_STRICT = 0, SET_MODE_FILTER = 1;
    /** Only the flag the kernel reports back and that changes behaviour; TSYNC is moot as each thread is done. */
    private static final long FILTER_FLAG_LOG = 2;

    private SeccompRestorer() {}

    static void restore(Puppet thread, ThreadCore core) {
        if (core.getSeccompMode() == 0) return;
        int tid = core.getTid();
        Ptrace.setOptions(tid, Ptrace.O_TRACESYSGOOD | Ptrace.O_EXITKILL | Ptrace.O_SUSPEND_SECCOMP);
        if (core.getSeccompMode() == 1) {
            thread.call("seccomp(SECCOMP_SET_MODE_STRICT) in thread " + tid, SyscallNumbers.SECCOMP, SET_MODE_STRICT, 0, 0);
            return;
        }
        int n = 0;
        for (SeccompFilter filter : core.getSeccompFiltersList()) {
            thread.resetScratch();
            byte[] program = filter.getProgram().toByteArray();
            long code = thread.put(program);
            ByteBuffer fprog = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);   // struct sock_fprog
            fprog.putShort(0, (short) (program.length / 8)).putLong(8, code);
            long fprogAddr = thread.put(fprog.array());
            thread.call("seccomp(SECCOMP_SET_MODE_FILTER) of filter " + ++n + " of " + core.getSeccompFiltersCount()
                            + " in thread " + tid, SyscallNumbers.SECCOMP, SET_MODE_FILTER, filter.getFlags() & FILTER_FLAG_LOG,
                    fprogAddr);
        }
    }
}
