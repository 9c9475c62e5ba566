package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The disk blocks behind a file: punching holes into it (fallocate) and how much it occupies (st_blocks). Used by
 * --auto-dedup, which frees the pages an older image set no longer needs without changing its size.
 */
public final class FileSpace {
    private static final int FALLOCATE = 285, FSYNC = 74, NEWFSTATAT = 262, AT_FDCWD = -100;
    private static final int FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2;
    private static final int STAT_SIZE = 144, ST_BLOCKS_OFFSET = 64;   // struct stat on x86_64

    private FileSpace() {}

    /**
     * Deallocates {@code len} bytes at {@code offset} of the open file {@code fd}: they read as zeros afterwards and
     * the file keeps its size. Punching a range that is already a hole does nothing.
     */
    public static void punchHole(int fd, String path, long offset, long len) {
        Libc.syscall("fallocate(PUNCH_HOLE, " + path + ", offset " + offset + ", " + len + " bytes)", FALLOCATE, fd,
                FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len);
    }

    public static void fsync(int fd, String path) {
        Libc.syscall("fsync(" + path + ")", FSYNC, fd);
    }

    /**
     * An exclusive flock(2) on directory {@code dir}, waiting for another holder: close the returned descriptor
     * (with {@link Files#close}) to release it. Advisory: it orders only the callers that take it.
     */
    public static int lockDirectory(String dir) {
        int fd = Files.open(dir, Files.O_RDONLY | O_DIRECTORY | Files.O_CLOEXEC);
        try {
            Libc.syscall("flock(" + dir + ", LOCK_EX)", FLOCK, fd, LOCK_EX);
            return fd;
        } catch (ErrnoException e) {
            Files.closeQuietly(fd);
            throw e;
        }
    }

    private static final int FLOCK = 73, LOCK_EX = 2, O_DIRECTORY = 0200000;

    /** Bytes of disk the file occupies (st_blocks x 512): less than its size where it has holes. */
    public static long allocatedBytes(String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(STAT_SIZE, 8);
            Libc.syscall("stat(" + path + ")", NEWFSTATAT, AT_FDCWD, arena.allocateFrom(path).address(), st.address(), 0);
            return st.get(ValueLayout.JAVA_LONG, ST_BLOCKS_OFFSET) * 512;
        }
    }
}
