package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** open_by_handle_at(2): a file by its file handle (as fdinfo shows inotify marks), and FIONREAD. */
public final class FileHandles {
    private static final int OPEN_BY_HANDLE_AT = 304;
    private static final long FIONREAD = 0x541B;
    public static final int O_PATH = 010000000;

    private FileHandles() {}

    /** Opens the file of handle ({@code type}, {@code bytes}) on the filesystem {@code mountFd} is on; needs CAP_DAC_READ_SEARCH. */
    public static int open(int mountFd, int type, byte[] bytes, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(8 + bytes.length, 8);
            handle.set(ValueLayout.JAVA_INT, 0, bytes.length);
            handle.set(ValueLayout.JAVA_INT, 4, type);
            MemorySegment.copy(bytes, 0, handle, ValueLayout.JAVA_BYTE, 8, bytes.length);
            return (int) Libc.syscall("open_by_handle_at", OPEN_BY_HANDLE_AT, mountFd, handle.address(), flags);
        }
    }

    /** Bytes waiting to be read on {@code fd} (FIONREAD). */
    public static int pending(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(ValueLayout.JAVA_INT);
            Files.ioctl("ioctl(FIONREAD)", fd, FIONREAD, n.address());
            return n.get(ValueLayout.JAVA_INT, 0);
        }
    }
}
