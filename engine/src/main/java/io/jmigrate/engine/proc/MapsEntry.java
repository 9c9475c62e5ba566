package io.jmigrate.engine.proc;

/**
 * One line of /proc/PID/maps: the virtual memory area [start, end).
 *
 * <p>Addresses and offsets are unsigned 64-bit values held in {@code long}s ({@code [vsyscall]} sits at
 * 0xffffffffff600000, which is negative as a signed long); compare them with {@link Long#compareUnsigned}.
 *
 * @param perms four characters as the kernel prints them, e.g. {@code "rw-p"} or {@code "r-xs"}
 * @param name  the path or pseudo name, {@code ""} for an anonymous mapping. Kept exactly as printed, including
 *              inner spaces and the kernel's {@code \012} escape for a newline in a path.
 */
public record MapsEntry(long start, long end, String perms, long offset, int devMajor, int devMinor, long inode,
                        String name) {
    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;

    /** What the kernel appends to the path of a mapped file that has been unlinked. */
    public static final String DELETED_SUFFIX = " (deleted)";

    public MapsEntry {
        if (perms == null || perms.length() != 4) throw new IllegalArgumentException("perms must be 4 characters: " + perms);
        if (name == null) throw new IllegalArgumentException("name must not be null; use \"\" for anonymous memory");
        if (Long.compareUnsigned(start, end) > 0) {
            throw new IllegalArgumentException("start 0x" + Long.toHexString(start) + " is above end 0x" + Long.toHexString(end));
        }
    }

    public boolean readable() { return perms.charAt(0) == 'r'; }

    public boolean writable() { return perms.charAt(1) == 'w'; }

    public boolean executable() { return perms.charAt(2) == 'x'; }

    /** MAP_SHARED ('s'), as opposed to private copy-on-write ('p'). */
    public boolean shared() { return perms.charAt(3) == 's'; }

    /** The protection as mmap/mprotect take it: PROT_READ | PROT_WRITE | PROT_EXEC bits. */
    public int prot() {
        return (readable() ? PROT_READ : 0) | (writable() ? PROT_WRITE : 0) | (executable() ? PROT_EXEC : 0);
    }

    public long length() { return end - start; }

    public long pages() { return length() >>> 12; }

    public boolean contains(long address) {
        return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
    }

    /**
     * Backed by an inode: a file, or the hidden shmem file of shared anonymous memory ({@code /dev/zero (deleted)})
     * and SysV shm. The path test covers files on filesystems that report inode 0.
     */
    public boolean isFileBacked() { return inode != 0 || name.startsWith("/"); }

    /** Private anonymous memory without a name: {@code mmap(MAP_PRIVATE|MAP_ANONYMOUS)}, thread stacks, a JVM heap. */
    public boolean isAnonymous() { return inode == 0 && name.isEmpty(); }

    /**
     * MAP_SHARED|MAP_ANONYMOUS memory (and shared mappings of /dev/zero): the kernel backs it with an unlinked shmem
     * file it names {@code /dev/zero (deleted)}. Its contents must be dumped like anonymous memory, but shared
     * between the processes that map the same inode.
     */
    public boolean isSharedAnonymous() { return shared() && deleted() && path().equals("/dev/zero"); }

    /**
     * A kernel-named area rather than a file: {@code [heap]}, {@code [stack]}, {@code [vdso]}, {@code [vvar]},
     * {@code [vvar_vclock]}, {@code [vsyscall]}, {@code [uprobes]}, {@code [anon:NAME]}, {@code [anon_shmem:NAME]}.
     * Paths always start with '/', so the brackets are unambiguous.
     */
    public boolean isSpecial() { return name.startsWith("[") && name.endsWith("]"); }

    public boolean isHeap() { return name.equals("[heap]"); }

    /** The main thread's stack; other threads' stacks are plain anonymous memory on current kernels. */
    public boolean isStack() { return name.equals("[stack]"); }

    public boolean isVdso() { return name.equals("[vdso]"); }

    /** The vDSO's data pages; 6.13+ split them into {@code [vvar]} and {@code [vvar_vclock]}. */
    public boolean isVvar() { return name.equals("[vvar]") || name.equals("[vvar_vclock]"); }

    public boolean isVsyscall() { return name.equals("[vsyscall]"); }

    /** The name given with prctl(PR_SET_VMA_ANON_NAME), or null when the area has none. */
    public String anonName() {
        if (name.startsWith("[anon:") && name.endsWith("]")) return name.substring("[anon:".length(), name.length() - 1);
        if (name.startsWith("[anon_shmem:") && name.endsWith("]")) {
            return name.substring("[anon_shmem:".length(), name.length() - 1);
        }
        return null;
    }

    /** The mapped file has been unlinked (or is an internal shmem file, which the kernel shows the same way). */
    public boolean deleted() { return name.endsWith(DELETED_SUFFIX); }

    /** The name without the {@value #DELETED_SUFFIX} marker: the path the file had when it was mapped. */
    public String path() { return deleted() ? name.substring(0, name.length() - DELETED_SUFFIX.length()) : name; }

    /** The line as /proc/PID/maps prints it, for messages and debugging. */
    public String toMapsLine() {
        String head = String.format("%08x-%08x %s %08x %02x:%02x %d ", start, end, perms, offset, devMajor, devMinor, inode);
        if (name.isEmpty()) return head;
        // The kernel pads to a fixed column before the name so the names line up.
        return head + " ".repeat(Math.max(0, 73 - head.length())) + name;
    }
}
