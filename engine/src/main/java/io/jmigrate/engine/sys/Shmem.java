package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Shmem objects (shared anonymous memory, memfds) seen through one of our descriptors: which ranges hold data
 * (lseek SEEK_DATA/SEEK_HOLE, which tmpfs answers page by page, swapped pages included), their seals, and the
 * filesystem they live on.
 */
public final class Shmem {
    public static final int F_GET_SEALS = 1034, F_ADD_SEALS = 1033;
    public static final int F_SEAL_SEAL = 1, F_SEAL_FUTURE_WRITE = 0x10;
    public static final long TMPFS_MAGIC = 0x01021994L;
    private static final int FCNTL = 72, FSTATFS = 138, SEEK_DATA = 3, SEEK_HOLE = 4, ENXIO = 6;

    private Shmem() {}

    /** {start, end} pairs of the ranges of [0, size) that hold data, in order; holes read as zeros. */
    public static List<long[]> dataRanges(int fd, long size) {
        List<long[]> ranges = new ArrayList<>();
        long at = 0;
        while (at < size) {
            long data = Libc.syscallRaw(SyscallNumbers.LSEEK, fd, at, SEEK_DATA, 0, 0, 0);
            if (data == -ENXIO) break;                     // no data after `at`
            if (data < 0) throw new ErrnoException("lseek(SEEK_DATA)", (int) -data);
            long hole = Libc.syscall("lseek(SEEK_HOLE)", SyscallNumbers.LSEEK, fd, data, SEEK_HOLE);
            ranges.add(new long[]{data, Math.min(hole, size)});
            at = hole;
        }
        return ranges;
    }

    /** F_GET_SEALS: the seals of the shmem inode behind {@code fd}. */
    public static int seals(int fd) {
        return (int) Libc.syscall("fcntl(F_GET_SEALS)", FCNTL, fd, F_GET_SEALS);
    }

    /** statfs f_type of the filesystem behind {@code fd} (TMPFS_MAGIC for shmem, another for hugetlbfs). */
    public static long filesystemType(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(120, 8);       // struct statfs
            Libc.syscall("fstatfs", FSTATFS, fd, buf.address());
            return buf.get(ValueLayout.JAVA_LONG, 0);
        }
    }
}
