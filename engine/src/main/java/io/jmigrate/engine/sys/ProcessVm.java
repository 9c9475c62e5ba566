package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** process_vm_readv / process_vm_writev: copy memory between our address space and another process's. */
public final class ProcessVm {
    private ProcessVm() {}

    /** Reads {@code len} bytes at {@code remote} in {@code pid} into {@code local}; returns bytes read (may be short). */
    public static long read(int pid, MemorySegment local, long remote, long len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment liov = Iovec.of(arena, local.address(), len);
            MemorySegment riov = Iovec.of(arena, remote, len);
            return Libc.syscall("process_vm_readv(" + pid + ", 0x" + Long.toHexString(remote) + ", " + len + ")",
                    SyscallNumbers.PROCESS_VM_READV, pid, liov.address(), 1, riov.address(), 1, 0);
        }
    }

    /** Reads up to {@code len} bytes at {@code remote} in {@code pid}; the array is as long as what was read. */
    public static byte[] read(int pid, long remote, int len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(len, 1));
            long n = read(pid, buf, remote, len);
            return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Writes {@code len} bytes of {@code local} to {@code remote} in {@code pid}; returns bytes written. */
    public static long write(int pid, MemorySegment local, long remote, long len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment liov = Iovec.of(arena, local.address(), len);
            MemorySegment riov = Iovec.of(arena, remote, len);
            return Libc.syscall("process_vm_writev(" + pid + ", 0x" + Long.toHexString(remote) + ", " + len + ")",
                    SyscallNumbers.PROCESS_VM_WRITEV, pid, liov.address(), 1, riov.address(), 1, 0);
        }
    }

    /** Reads fully or throws; {@code remote} ranges that are partly unmapped fail with EFAULT. */
    public static void readFully(int pid, MemorySegment local, long remote, long len) {
        long done = 0;
        while (done < len) {
            long n = read(pid, local.asSlice(done), remote + done, len - done);
            if (n <= 0) throw new ErrnoException("process_vm_readv(" + pid + ") short read at 0x"
                    + Long.toHexString(remote + done), Errno.EFAULT);
            done += n;
        }
    }

    public static void writeFully(int pid, MemorySegment local, long remote, long len) {
        long done = 0;
        while (done < len) {
            long n = write(pid, local.asSlice(done), remote + done, len - done);
            if (n <= 0) throw new ErrnoException("process_vm_writev(" + pid + ") short write at 0x"
                    + Long.toHexString(remote + done), Errno.EFAULT);
            done += n;
        }
    }
}
