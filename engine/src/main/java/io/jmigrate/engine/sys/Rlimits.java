package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** prlimit64(2) on any process: resource limits are set from outside, no injection needed. */
public final class Rlimits {
    private Rlimits() {}

    /** {soft, hard} of {@code resource} for {@code pid}; RLIM_INFINITY is -1. */
    public static long[] get(int pid, int resource) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment old = arena.allocate(16, 8);
            Libc.syscall("prlimit64(" + pid + ", " + resource + ")", SyscallNumbers.PRLIMIT64, pid, resource, 0, old.address());
            return new long[]{old.get(ValueLayout.JAVA_LONG, 0), old.get(ValueLayout.JAVA_LONG, 8)};
        }
    }

    public static void set(int pid, int resource, long soft, long hard) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment limit = arena.allocate(16, 8);
            limit.set(ValueLayout.JAVA_LONG, 0, soft);
            limit.set(ValueLayout.JAVA_LONG, 8, hard);
            Libc.syscall("prlimit64(" + pid + ", " + resource + ", set)", SyscallNumbers.PRLIMIT64, pid, resource,
                    limit.address(), 0);
        }
    }
}
