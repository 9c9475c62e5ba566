package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * kcmp(2): whether two descriptors share one open file, and which file an epoll instance really watches (its
 * interest list is keyed by file and fd number, and the number may since have been closed or reused).
 * Needs CONFIG_KCMP and ptrace read access to the process.
 */
public final class Kcmp {
    private static final int KCMP_FILE = 0, KCMP_EPOLL_TFD = 7;

    private Kcmp() {}

    /** Whether fds {@code fd1} and {@code fd2} of process {@code pid} are the same open file description (dup). */
    public static boolean sameFile(int pid, int fd1, int fd2) {
        return Libc.syscall("kcmp(KCMP_FILE, fd " + fd1 + ", fd " + fd2 + ")", SyscallNumbers.KCMP,
                pid, pid, KCMP_FILE, fd1, fd2, 0) == 0;
    }

    /** Whether fd {@code fd1} of {@code pid1} and fd {@code fd2} of {@code pid2} are one open file (inherited). */
    public static boolean sameFile(int pid1, int fd1, int pid2, int fd2) {
        return Libc.syscall("kcmp(KCMP_FILE, " + pid1 + ":" + fd1 + ", " + pid2 + ":" + fd2 + ")", SyscallNumbers.KCMP,
                pid1, pid2, KCMP_FILE, fd1, fd2, 0) == 0;
    }

    /**
     * Whether fd {@code tfd} of {@code pid} is the file that epoll instance {@code epfd} of {@code pid} watches
     * under number {@code tfd} (its {@code toff}-th registration with that number).
     *
     * @throws ErrnoException EBADF if {@code tfd} is not open, ENOENT if the epoll has no such registration
     */
    public static boolean epollWatches(int pid, int epfd, int tfd, int toff) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment slot = arena.allocate(12, 4);           // struct kcmp_epoll_slot {u32 efd, tfd, toff}
            slot.set(ValueLayout.JAVA_INT, 0, epfd);
            slot.set(ValueLayout.JAVA_INT, 4, tfd);
            slot.set(ValueLayout.JAVA_INT, 8, toff);
            return Libc.syscall("kcmp(KCMP_EPOLL_TFD, epoll fd " + epfd + ", fd " + tfd + ")", SyscallNumbers.KCMP,
                    pid, pid, KCMP_EPOLL_TFD, tfd, slot.address(), 0) == 0;
        }
    }
}
