package io.jmigrate.engine.sys;

/**
 * clone3(2). Only probed here: actually creating tasks with it (set_tid for same-PID restore) happens inside the
 * restorer, never in the JVM.
 */
public final class Clone3 {
    /** sizeof(struct clone_args) per version: VER0 base, VER1 adds set_tid/set_tid_size (5.5), VER2 adds cgroup (5.7). */
    public static final int CLONE_ARGS_SIZE_VER0 = 64, CLONE_ARGS_SIZE_VER1 = 80, CLONE_ARGS_SIZE_VER2 = 88;

    private Clone3() {}

    /**
     * Calls clone3(NULL, 0), which can never create a task: a kernel that has clone3 rejects the size with EINVAL,
     * one without it says ENOSYS. Returns the errno.
     */
    public static int errnoForEmptyArgs() {
        long r = Libc.syscallRaw(SyscallNumbers.CLONE3, 0, 0, 0, 0, 0, 0);
        if (r >= 0) throw new IllegalStateException("clone3(NULL, 0) returned " + r);
        return (int) -r;
    }
}
