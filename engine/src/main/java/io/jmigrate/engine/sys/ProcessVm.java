package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

/** process_vm_readv / process_vm_writev: copy memory between our address space and another process's. */
public final class ProcessVm {
    private ProcessVm() {}

    /** Reads {@code len} bytes at {@code remote} in {@code pid} into {@code local}; returns bytes read (may be short). */
    static long read(int pid, MemorySegment local, long remote, long len) {
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
    static long write(int pid, MemorySegment local, long remote, long len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment liov = Iovec.of(arena, local.address(), len);
            MemorySegment riov = Iovec.of(arena, remote, len);
            return Libc.syscall("process_vm_writev(" + pid + ", 0x" + Long.toHexString(remote) + ", " + len + ")",
                    SyscallNumbers.PROCESS_VM_WRITEV, pid, liov.address(), 1, riov.address(), 1, 0);
        }
    }

    /** Reads fully or throws; {@code remote} ranges that are partly unmapped fail with EFAULT. */
    static void readFully(int pid, MemorySegment local, long remote, long len) {
        long done = 0;
        while (done < len) {
            long n = read(pid, local.asSlice(done), remote + done, len - done);
            if (n <= 0) throw new ErrnoException("process_vm_readv(" + pid + ") short read at 0x"
                    + Long.toHexString(remote + done), Errno.EFAULT);
            done += n;
        }
    }

    /** Reads {@code len} bytes at {@code remote} into a direct buffer at its position; the buffer is not moved. */
    public static void readFully(int pid, ByteBuffer local, long remote, long len) {
        readFully(pid, MemorySegment.ofBuffer(local), remote, len);
    }

    public static void writeFully(int pid, ByteBuffer local, long remote, long len) {
        writeFully(pid, MemorySegment.ofBuffer(local), remote, len);
    }

    /**
     * Scatter-gather read: {@code count} remote ranges (address, length pairs in {@code ranges}) into consecutive
     * bytes of {@code local} starting at its position. One system call per 1024 ranges (IOV_MAX).
     */
    public static void readRanges(int pid, ByteBuffer local, long[] ranges, int count) {
        MemorySegment dst = MemorySegment.ofBuffer(local);
        try (Arena arena = Arena.ofConfined()) {
            int max = Math.min(count, IOV_MAX);
            MemorySegment riov = arena.allocate(Iovec.SIZE * max, 8);
            MemorySegment liov = arena.allocate(Iovec.SIZE, 8);
            long offset = 0;
            for (int first = 0; first < count; first += IOV_MAX) {
                int n = Math.min(IOV_MAX, count - first);
                long total = 0;
                for (int i = 0; i < n; i++) {
                    long len = ranges[2 * (first + i) + 1];
                    Iovec.set(riov, i, ranges[2 * (first + i)], len);
                    total += len;
                }
                Iovec.set(liov, 0, dst.address() + offset, total);
                long got = Libc.syscall("process_vm_readv(" + pid + ", " + n + " ranges)",
                        SyscallNumbers.PROCESS_VM_READV, pid, liov.address(), 1, riov.address(), n, 0);
                if (got != total) {
                    throw new ErrnoException("process_vm_readv(" + pid + ") read " + got + " of " + total
                            + " bytes (a range vanished or is unreadable)", Errno.EFAULT);
                }
                offset += total;
            }
        }
    }

    public static final int IOV_MAX = 1024;

    /** Reads a small remote area into a new byte array. */
    public static byte[] readBytes(int pid, long remote, int len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(len, 1));
            readFully(pid, buf, remote, len);
            return buf.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Writes a small byte array to a remote area. */
    public static void writeBytes(int pid, long remote, byte[] data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(data.length, 1));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            writeFully(pid, buf, remote, data.length);
        }
    }

    static void writeFully(int pid, MemorySegment local, long remote, long len) {
        long done = 0;
        while (done < len) {
            long n = write(pid, local.asSlice(done), remote + done, len - done);
            if (n <= 0) throw new ErrnoException("process_vm_writev(" + pid + ") short write at 0x"
                    + Long.toHexString(remote + done), Errno.EFAULT);
            done += n;
        }
    }
}
