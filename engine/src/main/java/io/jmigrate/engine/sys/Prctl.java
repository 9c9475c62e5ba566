package io.jmigrate.engine.sys;

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
}
