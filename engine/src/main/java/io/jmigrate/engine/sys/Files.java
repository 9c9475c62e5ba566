package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;

/** Plain file-descriptor calls on our own descriptors. */
public final class Files {
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CLOEXEC = 02000000;
    private static final int AT_FDCWD = -100, FCHOWNAT = 260, FCHMODAT = 268, AT_SYMLINK_NOFOLLOW = 0x100;

    private Files() {}

    /** openat(AT_FDCWD, path, flags): a raw descriptor, for the few files that are driven by ioctl (pagemap). */
    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) Libc.syscall("open(" + path + ")", SyscallNumbers.OPENAT, AT_FDCWD,
                    arena.allocateFrom(path).address(), flags, 0);
        }
    }

    /**
     * Reserves {@code len} bytes at {@code offset} of {@code path} without changing its size
     * (fallocate FALLOC_FL_KEEP_SIZE), so later writes find their blocks allocated. False where unsupported.
     */
    public static boolean preallocate(String path, long offset, long len) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        try {
            Libc.syscall("fallocate(" + path + ")", FALLOCATE, fd, FALLOC_FL_KEEP_SIZE, offset, len);
            return true;
        } catch (ErrnoException e) {
            if (e.is(Errno.EOPNOTSUPP) || e.is(Errno.ENOSPC)) return false;
            throw e;
        } finally {
            closeQuietly(fd);
        }
    }

    private static final int FALLOCATE = 285, FALLOC_FL_KEEP_SIZE = 1;

    public static void close(int fd) {
        Libc.syscall("close(" + fd + ")", SyscallNumbers.CLOSE, fd);
    }

    public static void closeQuietly(int fd) {
        if (fd < 0) return;
        try { close(fd); } catch (ErrnoException ignored) { /* closing is best effort on cleanup paths */ }
    }

    /** fchmodat: works on any file type (a socket file cannot be opened, which java.nio would do). */
    public static void chmod(String path, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            Libc.syscall("chmod(" + path + ")", FCHMODAT, AT_FDCWD, arena.allocateFrom(path).address(), mode);
        }
    }

    /** fchownat without following a symbolic link. */
    public static void chown(String path, int uid, int gid) {
        try (Arena arena = Arena.ofConfined()) {
            Libc.syscall("chown(" + path + ")", FCHOWNAT, AT_FDCWD, arena.allocateFrom(path).address(), uid, gid,
                    AT_SYMLINK_NOFOLLOW, 0);
        }
    }

    public static long ioctl(String operation, int fd, long request, long arg) {
        return Libc.syscall(operation, 16, fd, request, arg);
    }
}
