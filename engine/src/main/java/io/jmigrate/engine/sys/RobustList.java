package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** get_robust_list(2) of another thread: {head, len}. */
public final class RobustList {
    private static final int GET_ROBUST_LIST = 274;

    private RobustList() {}

    public static long[] get(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment head = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_LONG);
            Libc.syscall("get_robust_list(" + tid + ")", GET_ROBUST_LIST, tid, head.address(), len.address());
            return new long[]{head.get(ValueLayout.JAVA_LONG, 0), len.get(ValueLayout.JAVA_LONG, 0)};
        }
    }
}
