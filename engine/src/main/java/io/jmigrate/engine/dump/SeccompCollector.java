package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.proto.SeccompFilter;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Ptrace;

import java.util.ArrayList;
import java.util.List;

/**
 * A thread's seccomp state: strict mode, or its stack of filters read back as BPF programs. Filters are per
 * thread (threads inherit them at clone), so each thread keeps its own list, the oldest first, the order the
 * restore installs them in.
 */
final class SeccompCollector {
    private static final int MAX_FILTERS = 512;     // the kernel's own limit on a stack is by size; this is ample

    private SeccompCollector() {}

    static void collect(int pid, int tid, int mode, ThreadCore.Builder thread) {
        thread.setSeccompMode(Math.max(mode, 0));
        if (mode != 2) return;
        List<SeccompFilter> newestFirst = new ArrayList<>();
        try {
            for (int index = 0; ; index++) {
                byte[] program = Ptrace.seccompFilter(tid, index);
                if (program == null) break;
                if (index >= MAX_FILTERS) {
                    throw new DumpRefusedException("thread " + tid + " of PID " + pid + " has more than " + MAX_FILTERS + " seccomp filters");
                }
                newestFirst.add(SeccompFilter.newBuilder().setProgram(com.google.protobuf.ByteString.copyFrom(program))
                        .setFlags(Ptrace.seccompFilterFlags(tid, index)).build());
            }
        } catch (ErrnoException e) {
            throw new DumpRefusedException("thread " + tid + " of PID " + pid + " uses seccomp filters, and they cannot be read ("
                    + e.getMessage() + "); jmigrate needs CAP_SYS_ADMIN and a kernel with CONFIG_CHECKPOINT_RESTORE");
        }
        if (newestFirst.isEmpty()) {
            throw new DumpRefusedException("thread " + tid + " of PID " + pid + " is in seccomp filter mode but shows no filter");
        }
        thread.addAllSeccompFilters(newestFirst.reversed());
    }
}
