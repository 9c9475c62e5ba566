package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The one place downcalls are bound. Every binding that can fail captures errno into a per-thread state segment,
 * so two threads failing at once never read each other's errno.
 */
final class Libc {
    static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_HANDLE =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    /** long syscall(long nr, ...): six argument slots are always passed; unused ones are ignored by the kernel. */
    private static final MethodHandle SYSCALL = downcallWithErrno("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));

    private Libc() {}

    static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /** A binding whose first parameter is the call-state segment that receives errno. */
    static MethodHandle downcallWithErrno(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = new Linker.Option[options.length + 1];
        all[0] = CAPTURE_ERRNO;
        System.arraycopy(options, 0, all, 1, options.length);
        return downcall(name, descriptor, all);
    }

    static MemorySegment callState() {
        return CALL_STATE.get();
    }

    static int errno(MemorySegment state) {
        return (int) ERRNO_HANDLE.get(state, 0L);
    }

    /** A raw system call; a -1 return becomes an {@link ErrnoException} naming {@code operation}. */
    static long syscall(String operation, long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        MemorySegment state = callState();
        long result;
        try {
            result = (long) SYSCALL.invokeExact(state, nr, a1, a2, a3, a4, a5, a6);
        } catch (Throwable t) {
            throw new IllegalStateException("downcall failed: " + operation, t);
        }
        if (result == -1) {
            throw new ErrnoException(operation, errno(state));
        }
        return result;
    }

    /**
     * A raw system call that returns {@code -errno} instead of throwing, for hot paths that must not build an
     * operation name per call; the caller builds the {@link ErrnoException} only when the call failed.
     */
    static long syscallRaw(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        MemorySegment state = callState();
        long result;
        try {
            result = (long) SYSCALL.invokeExact(state, nr, a1, a2, a3, a4, a5, a6);
        } catch (Throwable t) {
            throw new IllegalStateException("downcall failed: syscall " + nr, t);
        }
        return result == -1 ? -errno(state) : result;
    }

    static long syscall(String operation, long nr, long a1, long a2, long a3, long a4) {
        return syscall(operation, nr, a1, a2, a3, a4, 0, 0);
    }

    static long syscall(String operation, long nr, long a1, long a2, long a3) {
        return syscall(operation, nr, a1, a2, a3, 0, 0, 0);
    }

    static long syscall(String operation, long nr, long a1, long a2) {
        return syscall(operation, nr, a1, a2, 0, 0, 0, 0);
    }

    static long syscall(String operation, long nr, long a1) {
        return syscall(operation, nr, a1, 0, 0, 0, 0, 0);
    }
}
