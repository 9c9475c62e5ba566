package io.jmigrate.engine.sys;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Pipes of our own, and copying what another process's pipe holds without taking it out (tee). */
public final class Pipes {
    private static final int PIPE2 = 293, TEE = 276, FCNTL = 72;
    public static final int F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032, F_GETFL = 3, F_SETFL = 4;
    public static final int O_NONBLOCK = 04000, O_CLOEXEC = 02000000;
    private static final int SPLICE_F_NONBLOCK = 2;

    private Pipes() {}

    /** {read end, write end}. */
    public static int[] pipe(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(8, 4);
            Libc.syscall("pipe2", PIPE2, fds.address(), flags);
            return new int[]{fds.get(ValueLayout.JAVA_INT, 0), fds.get(ValueLayout.JAVA_INT, 4)};
        }
    }

    public static int capacity(int fd) {
        return (int) Libc.syscall("fcntl(F_GETPIPE_SZ)", FCNTL, fd, F_GETPIPE_SZ);
    }

    public static void setCapacity(int fd, int bytes) {
        Libc.syscall("fcntl(F_SETPIPE_SZ, " + bytes + ")", FCNTL, fd, F_SETPIPE_SZ, bytes);
    }

    /**
     * The bytes buffered in the pipe whose read end is {@code readFd} (ours, e.g. from pidfd_getfd), left in
     * place: tee(2) duplicates them into a pipe of ours, from which we read.
     */
    public static byte[] peek(int readFd) {
        int capacity = capacity(readFd);
        int[] copy = pipe(O_CLOEXEC | O_NONBLOCK);
        try {
            if (capacity(copy[0]) < capacity) setCapacity(copy[0], capacity);
            long n;
            try {
                n = Libc.syscall("tee(pipe contents)", TEE, readFd, copy[1], capacity, SPLICE_F_NONBLOCK);
            } catch (ErrnoException e) {
                if (e.is(Errno.EAGAIN)) return new byte[0];        // empty pipe
                throw e;
            }
            return read(copy[0], (int) n);
        } finally {
            Files.closeQuietly(copy[0]);
            Files.closeQuietly(copy[1]);
        }
    }

    public static byte[] read(int fd, int len) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(len);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(len, 1));
            while (out.size() < len) {
                long n = Libc.syscall("read(pipe)", SyscallNumbers.READ, fd, buf.address(), len - out.size());
                if (n == 0) break;
                out.write(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), 0, (int) n);
            }
        }
        return out.toByteArray();
    }

    public static void writeFully(int fd, byte[] data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(data.length, 1));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            for (long done = 0; done < data.length; ) {
                done += Libc.syscall("write(pipe)", SyscallNumbers.WRITE, fd, buf.address() + done, data.length - done);
            }
        }
    }
}
