package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * userfaultfd(2) and its ioctls. The system headers here predate several of these interfaces, so every struct is
 * spelled out as a layout and every number as the kernel defines it (include/uapi/linux/userfaultfd.h).
 */
public final class Uffd {
    /** Flags of userfaultfd(2). */
    public static final int O_CLOEXEC = 02000000, O_NONBLOCK = 04000, UFFD_USER_MODE_ONLY = 1;

    public static final long UFFD_API = 0xAA;
    public static final long UFFDIO_API = 0xC018AA3FL, UFFDIO_REGISTER = 0xC020AA00L, UFFDIO_UNREGISTER = 0x8010AA01L,
            UFFDIO_COPY = 0xC028AA03L, UFFDIO_ZEROPAGE = 0xC020AA04L, UFFDIO_WRITEPROTECT = 0xC018AA06L;

    /** Bit numbers of the ioctls bitmask UFFDIO_API and UFFDIO_REGISTER return. */
    public static final int _UFFDIO_REGISTER = 0x00, _UFFDIO_UNREGISTER = 0x01, _UFFDIO_WAKE = 0x02,
            _UFFDIO_COPY = 0x03, _UFFDIO_ZEROPAGE = 0x04, _UFFDIO_MOVE = 0x05, _UFFDIO_WRITEPROTECT = 0x06,
            _UFFDIO_CONTINUE = 0x07, _UFFDIO_POISON = 0x08, _UFFDIO_API = 0x3F;

    public static final long UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1L << 0, UFFD_FEATURE_EVENT_FORK = 1L << 1,
            UFFD_FEATURE_EVENT_REMAP = 1L << 2, UFFD_FEATURE_EVENT_REMOVE = 1L << 3,
            UFFD_FEATURE_MISSING_HUGETLBFS = 1L << 4, UFFD_FEATURE_MISSING_SHMEM = 1L << 5,
            UFFD_FEATURE_EVENT_UNMAP = 1L << 6, UFFD_FEATURE_SIGBUS = 1L << 7, UFFD_FEATURE_THREAD_ID = 1L << 8,
            UFFD_FEATURE_MINOR_HUGETLBFS = 1L << 9, UFFD_FEATURE_MINOR_SHMEM = 1L << 10,
            UFFD_FEATURE_EXACT_ADDRESS = 1L << 11, UFFD_FEATURE_WP_HUGETLBFS_SHMEM = 1L << 12,
            UFFD_FEATURE_WP_UNPOPULATED = 1L << 13, UFFD_FEATURE_POISON = 1L << 14, UFFD_FEATURE_WP_ASYNC = 1L << 15,
            UFFD_FEATURE_MOVE = 1L << 16;
    private static final String[] FEATURE_NAMES = {"PAGEFAULT_FLAG_WP", "EVENT_FORK", "EVENT_REMAP",
            "EVENT_REMOVE", "MISSING_HUGETLBFS", "MISSING_SHMEM", "EVENT_UNMAP", "SIGBUS", "THREAD_ID",
            "MINOR_HUGETLBFS", "MINOR_SHMEM", "EXACT_ADDRESS", "WP_HUGETLBFS_SHMEM", "WP_UNPOPULATED", "POISON",
            "WP_ASYNC", "MOVE"};

    public static final long UFFDIO_REGISTER_MODE_MISSING = 1, UFFDIO_REGISTER_MODE_WP = 2,
            UFFDIO_REGISTER_MODE_MINOR = 4;
    public static final long UFFDIO_WRITEPROTECT_MODE_WP = 1, UFFDIO_WRITEPROTECT_MODE_DONTWAKE = 2;
    public static final long UFFDIO_COPY_MODE_DONTWAKE = 1, UFFDIO_COPY_MODE_WP = 2;
    public static final long UFFDIO_ZEROPAGE_MODE_DONTWAKE = 1;

    /** struct uffdio_api {u64 api, features, ioctls}. */
    public static final StructLayout UFFDIO_API_LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("api"), JAVA_LONG.withName("features"), JAVA_LONG.withName("ioctls"));
    /** struct uffdio_range {u64 start, len}. */
    public static final StructLayout UFFDIO_RANGE_LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("start"), JAVA_LONG.withName("len"));
    /** struct uffdio_register {struct uffdio_range range; u64 mode, ioctls}. */
    public static final StructLayout UFFDIO_REGISTER_LAYOUT = MemoryLayout.structLayout(
            UFFDIO_RANGE_LAYOUT.withName("range"), JAVA_LONG.withName("mode"), JAVA_LONG.withName("ioctls"));
    /** struct uffdio_writeprotect {struct uffdio_range range; u64 mode}. */
    public static final StructLayout UFFDIO_WRITEPROTECT_LAYOUT = MemoryLayout.structLayout(
            UFFDIO_RANGE_LAYOUT.withName("range"), JAVA_LONG.withName("mode"));
    /** struct uffdio_copy {u64 dst, src, len, mode; s64 copy}. */
    public static final StructLayout UFFDIO_COPY_LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("dst"), JAVA_LONG.withName("src"), JAVA_LONG.withName("len"),
            JAVA_LONG.withName("mode"), JAVA_LONG.withName("copy"));
    /** struct uffdio_zeropage {struct uffdio_range range; u64 mode; s64 zeropage}. */
    public static final StructLayout UFFDIO_ZEROPAGE_LAYOUT = MemoryLayout.structLayout(
            UFFDIO_RANGE_LAYOUT.withName("range"), JAVA_LONG.withName("mode"), JAVA_LONG.withName("zeropage"));

    static {
        // The ioctl numbers encode the struct sizes; a layout that drifted would corrupt the kernel's view.
        check(UFFDIO_API, UFFDIO_API_LAYOUT);
        check(UFFDIO_REGISTER, UFFDIO_REGISTER_LAYOUT);
        check(UFFDIO_UNREGISTER, UFFDIO_RANGE_LAYOUT);
        check(UFFDIO_COPY, UFFDIO_COPY_LAYOUT);
        check(UFFDIO_ZEROPAGE, UFFDIO_ZEROPAGE_LAYOUT);
        check(UFFDIO_WRITEPROTECT, UFFDIO_WRITEPROTECT_LAYOUT);
    }

    private static final int SYS_IOCTL = 16;

    private Uffd() {}

    /** A new userfaultfd; {@code flags} from O_CLOEXEC, O_NONBLOCK, UFFD_USER_MODE_ONLY. */
    public static int userfaultfd(int flags) {
        return (int) Libc.syscall("userfaultfd(0x" + Integer.toHexString(flags) + ")", SyscallNumbers.USERFAULTFD,
                flags);
    }

    /**
     * UFFDIO_API handshake, enabling {@code requestedFeatures}; returns the features the kernel offers. Allowed once
     * per descriptor (a second call fails EINVAL); with {@code requestedFeatures == 0} on a fresh descriptor it
     * just reports everything this kernel offers.
     */
    public static long api(int fd, long requestedFeatures) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment api = arena.allocate(UFFDIO_API_LAYOUT);
            api.set(JAVA_LONG, 0, UFFD_API);
            api.set(JAVA_LONG, 8, requestedFeatures);
            String features = requestedFeatures == 0 ? "no features" : String.join("|", featureNames(requestedFeatures));
            Files.ioctl("ioctl(UFFDIO_API, " + features + ")", fd, UFFDIO_API, api.address());
            return api.get(JAVA_LONG, 8);
        }
    }

    /** Registers [start, start+len) in {@code mode} (UFFDIO_REGISTER_MODE_*); returns the ioctls allowed on it. */
    public static long register(int fd, long start, long len, long mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment reg = arena.allocate(UFFDIO_REGISTER_LAYOUT);
            reg.set(JAVA_LONG, 0, start);
            reg.set(JAVA_LONG, 8, len);
            reg.set(JAVA_LONG, 16, mode);
            Files.ioctl("ioctl(UFFDIO_REGISTER" + range(start, len) + ", mode " + mode + ")", fd, UFFDIO_REGISTER,
                    reg.address());
            return reg.get(JAVA_LONG, 24);
        }
    }

    public static void unregister(int fd, long start, long len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(UFFDIO_RANGE_LAYOUT);
            r.set(JAVA_LONG, 0, start);
            r.set(JAVA_LONG, 8, len);
            Files.ioctl("ioctl(UFFDIO_UNREGISTER" + range(start, len) + ")", fd, UFFDIO_UNREGISTER, r.address());
        }
    }

    /** Write-protects (or un-protects, waking faulting threads) [start, start+len), which must be registered WP. */
    public static void writeProtect(int fd, long start, long len, boolean protect) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment wp = arena.allocate(UFFDIO_WRITEPROTECT_LAYOUT);
            wp.set(JAVA_LONG, 0, start);
            wp.set(JAVA_LONG, 8, len);
            wp.set(JAVA_LONG, 16, protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0);
            Files.ioctl("ioctl(UFFDIO_WRITEPROTECT" + range(start, len) + (protect ? ", protect)" : ", unprotect)"),
                    fd, UFFDIO_WRITEPROTECT, wp.address());
        }
    }

    /**
     * Atomically fills missing pages [dst, dst+len) with a copy of our memory at {@code src}; returns bytes copied.
     * If the kernel stopped early with EAGAIN after copying some bytes, that count is returned and the caller
     * continues from there; any other failure throws.
     */
    public static long copy(int fd, long dst, long src, long len, long mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = arena.allocate(UFFDIO_COPY_LAYOUT);
            c.set(JAVA_LONG, 0, dst);
            c.set(JAVA_LONG, 8, src);
            c.set(JAVA_LONG, 16, len);
            c.set(JAVA_LONG, 24, mode);
            return partial(fd, UFFDIO_COPY, c, 32, "ioctl(UFFDIO_COPY" + range(dst, len) + ")");
        }
    }

    /** Maps the zero page over missing pages [start, start+len); returns bytes done, like {@link #copy}. */
    public static long zeroPage(int fd, long start, long len, long mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment z = arena.allocate(UFFDIO_ZEROPAGE_LAYOUT);
            z.set(JAVA_LONG, 0, start);
            z.set(JAVA_LONG, 8, len);
            z.set(JAVA_LONG, 16, mode);
            return partial(fd, UFFDIO_ZEROPAGE, z, 24, "ioctl(UFFDIO_ZEROPAGE" + range(start, len) + ")");
        }
    }

    /** Names of the set UFFD_FEATURE_* bits (without the prefix), lowest bit first; unknown bits as "bit N". */
    public static List<String> featureNames(long features) {
        List<String> names = new ArrayList<>();
        for (int bit = 0; bit < 64; bit++) {
            if ((features & (1L << bit)) != 0) names.add(bit < FEATURE_NAMES.length ? FEATURE_NAMES[bit] : "bit " + bit);
        }
        return names;
    }

    /** Names of the set bits of an ioctls mask as UFFDIO_REGISTER returns it. */
    public static List<String> ioctlNames(long ioctls) {
        List<String> names = new ArrayList<>();
        for (int bit = 0; bit < 64; bit++) {
            if ((ioctls & (1L << bit)) == 0) continue;
            names.add(switch (bit) {
                case _UFFDIO_REGISTER -> "REGISTER";
                case _UFFDIO_UNREGISTER -> "UNREGISTER";
                case _UFFDIO_WAKE -> "WAKE";
                case _UFFDIO_COPY -> "COPY";
                case _UFFDIO_ZEROPAGE -> "ZEROPAGE";
                case _UFFDIO_MOVE -> "MOVE";
                case _UFFDIO_WRITEPROTECT -> "WRITEPROTECT";
                case _UFFDIO_CONTINUE -> "CONTINUE";
                case _UFFDIO_POISON -> "POISON";
                case _UFFDIO_API -> "API";
                default -> "bit " + bit;
            });
        }
        return names;
    }

    private static long partial(int fd, long request, MemorySegment arg, long resultOffset, String operation) {
        long r = Libc.syscallRaw(SYS_IOCTL, fd, request, arg.address(), 0, 0, 0);
        long done = arg.get(JAVA_LONG, resultOffset);
        if (r >= 0) return done;
        if (r == -Errno.EAGAIN && done > 0) return done;
        throw new ErrnoException(operation, (int) -r);
    }

    private static String range(long start, long len) {
        return " 0x" + Long.toHexString(start) + "+" + len;
    }

    private static void check(long request, StructLayout layout) {
        long size = (request >>> 16) & 0x3fff;
        if (size != layout.byteSize()) {
            throw new ExceptionInInitializerError("ioctl 0x" + Long.toHexString(request) + " encodes " + size
                    + " bytes but the layout has " + layout.byteSize());
        }
    }
}
