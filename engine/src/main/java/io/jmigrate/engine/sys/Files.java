package io.jmigrate.engine.sys;

/** Plain file-descriptor calls on our own descriptors. */
public final class Files {
    private Files() {}

    public static void close(int fd) {
        Libc.syscall("close(" + fd + ")", SyscallNumbers.CLOSE, fd);
    }

    public static void closeQuietly(int fd) {
        if (fd < 0) return;
        try { close(fd); } catch (ErrnoException ignored) { /* closing is best effort on cleanup paths */ }
    }

    public static long ioctl(String operation, int fd, long request, long arg) {
        return Libc.syscall(operation, 16, fd, request, arg);
    }
}
