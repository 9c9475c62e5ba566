package io.jmigrate.engine.sys;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/** errno values the engine reacts to, and their names as glibc spells them. */
public final class Errno {
    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, ECHILD = 10,
            EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19,
            EINVAL = 22, ENOSPC = 28, ENOSYS = 38, ENOTTY = 25, EOPNOTSUPP = 95;

    /** Kernel-internal values a task stopped inside a system call shows in rax (never seen by user space). */
    public static final int ERESTARTSYS = 512, ERESTARTNOINTR = 513, ERESTARTNOHAND = 514,
            ERESTART_RESTARTBLOCK = 516;

    private static final MethodHandle STRERRORNAME_NP =
            Libc.downcall("strerrorname_np", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    private static final MethodHandle STRERROR =
            Libc.downcall("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private Errno() {}

    public static String name(int errno) {
        switch (errno) {
            case ERESTARTSYS: return "ERESTARTSYS";
            case ERESTARTNOINTR: return "ERESTARTNOINTR";
            case ERESTARTNOHAND: return "ERESTARTNOHAND";
            case ERESTART_RESTARTBLOCK: return "ERESTART_RESTARTBLOCK";
            default: break;
        }
        String name = cString(STRERRORNAME_NP, errno);
        return name != null ? name : "E" + errno;
    }

    public static String describe(int errno) {
        String text = cString(STRERROR, errno);
        return text != null ? text : "errno " + errno;
    }

    private static String cString(MethodHandle fn, int errno) {
        try {
            MemorySegment p = (MemorySegment) fn.invokeExact(errno);
            return p.equals(MemorySegment.NULL) ? null : p.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return null;
        }
    }
}
