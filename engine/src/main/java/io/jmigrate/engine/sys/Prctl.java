package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** prctl(2) options the engine needs for itself. */
public final class Prctl {
    public static final int PR_SET_PDEATHSIG = 1, PR_SET_NAME = 15, PR_SET_CHILD_SUBREAPER = 36,
            PR_GET_CHILD_SUBREAPER = 37, PR_SET_MM = 35, PR_SET_MM_MAP = 14, PR_SET_MM_MAP_SIZE = 15,
            PR_GET_NO_NEW_PRIVS = 39;

    private Prctl() {}

    /**
     * Makes orphaned descendants re-parent to us instead of to PID 1, so we can reap them: a zombie holding a
     * PID would make a same-PID restore fail.
     */
    public static void becomeChildSubreaper() {
        Libc.syscall("prctl(PR_SET_CHILD_SUBREAPER)", SyscallNumbers.PRCTL, PR_SET_CHILD_SUBREAPER, 1);
    }

    /**
     * sizeof(struct prctl_mm_map) as this kernel expects it for PR_SET_MM_MAP (PR_SET_MM_MAP_SIZE needs no
     * capability; it fails EINVAL on kernels built without CONFIG_CHECKPOINT_RESTORE).
     */
    public static int mmMapSize() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(ValueLayout.JAVA_INT);
            Libc.syscall("prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE)", SyscallNumbers.PRCTL, PR_SET_MM, PR_SET_MM_MAP_SIZE,
                    size.address(), 0, 0, 0);
            return size.get(ValueLayout.JAVA_INT, 0);
        }
    }
}
