package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ptrace(2). Every call must come from the thread that attached (the kernel ties a tracee to one tracer thread):
 * callers go through compel's {@code Tracer}, which owns that thread.
 */
public final class Ptrace {
    public static final int CONT = 7, KILL = 8, DETACH = 17, SYSCALL = 24, SETOPTIONS = 0x4200,
            GETEVENTMSG = 0x4201, GETSIGINFO = 0x4202, GETREGSET = 0x4204, SETREGSET = 0x4205, SEIZE = 0x4206,
            INTERRUPT = 0x4207, LISTEN = 0x4208, PEEKSIGINFO = 0x4209, GETSIGMASK = 0x420a, SETSIGMASK = 0x420b,
            SECCOMP_GET_FILTER = 0x420c, SECCOMP_GET_METADATA = 0x420d, GET_RSEQ_CONFIGURATION = 0x420f;
    public static final int O_TRACESYSGOOD = 1, O_TRACEFORK = 2, O_TRACEVFORK = 4, O_TRACECLONE = 8,
            O_TRACEEXEC = 0x10, O_TRACEEXIT = 0x40, O_EXITKILL = 0x100000, O_SUSPEND_SECCOMP = 0x200000;
    public static final int EVENT_FORK = 1, EVENT_VFORK = 2, EVENT_CLONE = 3, EVENT_EXEC = 4, EVENT_EXIT = 6,
            EVENT_STOP = 128;
    public static final int NT_PRSTATUS = 1, NT_X86_XSTATE = 0x202;
    /** PTRACE_PEEKSIGINFO flag: read the process-wide (shared) queue instead of the thread's own. */
    public static final int PEEKSIGINFO_SHARED = 1;
    public static final int SIGINFO_SIZE = 128;
    private static final long XSTATE_MAX = 16384;

    private Ptrace() {}

    private static long call(String what, int request, int tid, long addr, long data) {
        return Libc.syscall("ptrace(" + what + ", " + tid + ")", SyscallNumbers.PTRACE, request, tid, addr, data);
    }

    public static void seize(int tid, int options) { call("SEIZE", SEIZE, tid, 0, options); }
    public static void interrupt(int tid) { call("INTERRUPT", INTERRUPT, tid, 0, 0); }
    public static void cont(int tid, int signal) { call("CONT", CONT, tid, 0, signal); }
    public static void syscall(int tid, int signal) { call("SYSCALL", SYSCALL, tid, 0, signal); }
    public static void detach(int tid, int signal) { call("DETACH", DETACH, tid, 0, signal); }
    public static void listen(int tid) { call("LISTEN", LISTEN, tid, 0, 0); }
    public static void setOptions(int tid, int options) { call("SETOPTIONS", SETOPTIONS, tid, 0, options); }

    public static long eventMessage(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            call("GETEVENTMSG", GETEVENTMSG, tid, 0, out.address());
            return out.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    public static UserRegs getRegs(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = arena.allocate(UserRegs.SIZE, 8);
            getRegset(arena, tid, NT_PRSTATUS, regs, "GETREGSET NT_PRSTATUS");
            return UserRegs.read(regs);
        }
    }

    public static void setRegs(int tid, UserRegs regs) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(UserRegs.SIZE, 8);
            regs.writeTo(buf);
            MemorySegment iov = Iovec.of(arena, buf.address(), UserRegs.SIZE);
            call("SETREGSET NT_PRSTATUS", SETREGSET, tid, NT_PRSTATUS, iov.address());
        }
    }

    /** The XSAVE area (FPU, SSE, AVX, … state), exactly as many bytes as the kernel reports. */
    public static byte[] getXstate(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(XSTATE_MAX, 64);
            long len = getRegset(arena, tid, NT_X86_XSTATE, buf, "GETREGSET NT_X86_XSTATE");
            return buf.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    public static void setXstate(int tid, byte[] xstate) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(xstate.length, 1), 64);
            MemorySegment.copy(xstate, 0, buf, ValueLayout.JAVA_BYTE, 0, xstate.length);
            MemorySegment iov = Iovec.of(arena, buf.address(), xstate.length);
            call("SETREGSET NT_X86_XSTATE", SETREGSET, tid, NT_X86_XSTATE, iov.address());
        }
    }

    private static long getRegset(Arena arena, int tid, int type, MemorySegment buf, String what) {
        MemorySegment iov = Iovec.of(arena, buf.address(), buf.byteSize());
        call(what, GETREGSET, tid, type, iov.address());
        return iov.get(ValueLayout.JAVA_LONG, 8);
    }

    public static long getSigmask(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(ValueLayout.JAVA_LONG);
            call("GETSIGMASK", GETSIGMASK, tid, 8, mask.address());
            return mask.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    public static void setSigmask(int tid, long mask) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocateFrom(ValueLayout.JAVA_LONG, mask);
            call("SETSIGMASK", SETSIGMASK, tid, 8, m.address());
        }
    }

    /** PTRACE_GET_RSEQ_CONFIGURATION: {pointer, size, signature, flags}; pointer 0 when none is registered. */
    public static long[] rseqConfiguration(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment conf = arena.allocate(24, 8);   // {u64 rseq_abi_pointer; u32 size; u32 signature; u32 flags; u32 pad}
            call("GET_RSEQ_CONFIGURATION", GET_RSEQ_CONFIGURATION, tid, conf.byteSize(), conf.address());
            return new long[]{conf.get(ValueLayout.JAVA_LONG, 0),
                    Integer.toUnsignedLong(conf.get(ValueLayout.JAVA_INT, 8)),
                    Integer.toUnsignedLong(conf.get(ValueLayout.JAVA_INT, 12)),
                    Integer.toUnsignedLong(conf.get(ValueLayout.JAVA_INT, 16))};
        }
    }

    /** Queued signals (each a raw 128-byte siginfo) of the thread, or of the whole process if {@code shared}. */
    public static java.util.List<byte[]> peekSiginfo(int tid, boolean shared) {
        java.util.List<byte[]> out = new java.util.ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment args = arena.allocate(16, 8);      // struct ptrace_peeksiginfo_args {u64 off; u32 flags; s32 nr;}
            MemorySegment buf = arena.allocate(SIGINFO_SIZE * 32L, 8);
            for (long off = 0; ; ) {
                args.set(ValueLayout.JAVA_LONG, 0, off);
                args.set(ValueLayout.JAVA_INT, 8, shared ? PEEKSIGINFO_SHARED : 0);
                args.set(ValueLayout.JAVA_INT, 12, 32);
                long n = call("PEEKSIGINFO", PEEKSIGINFO, tid, args.address(), buf.address());
                for (int i = 0; i < n; i++) {
                    out.add(buf.asSlice(i * (long) SIGINFO_SIZE, SIGINFO_SIZE).toArray(ValueLayout.JAVA_BYTE));
                }
                if (n < 32) return out;
                off += n;
            }
        }
    }

    /**
     * PTRACE_SECCOMP_GET_FILTER: the classic-BPF program (8 bytes per instruction) of the thread's seccomp filter
     * {@code index} steps back from the newest (0 = the newest); null past the oldest.
     */
    public static byte[] seccompFilter(int tid, int index) {
        long count;
        try {
            count = call("SECCOMP_GET_FILTER " + index, SECCOMP_GET_FILTER, tid, index, 0);
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOENT)) return null;
            throw e;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment prog = arena.allocate(Math.max(count, 1) * 8, 8);
            long n = call("SECCOMP_GET_FILTER " + index, SECCOMP_GET_FILTER, tid, index, prog.address());
            return prog.asSlice(0, n * 8).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** PTRACE_SECCOMP_GET_METADATA: the SECCOMP_FILTER_FLAG_* flags filter {@code index} was installed with. */
    public static long seccompFilterFlags(int tid, int index) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment meta = arena.allocate(16, 8);     // struct seccomp_metadata {u64 filter_off; u64 flags;}
            meta.set(ValueLayout.JAVA_LONG, 0, index);
            call("SECCOMP_GET_METADATA " + index, SECCOMP_GET_METADATA, tid, meta.byteSize(), meta.address());
            return meta.get(ValueLayout.JAVA_LONG, 8);
        }
    }
}
