package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.ShmemSink;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.ShmemKind;
import io.jmigrate.engine.image.proto.ShmemObject;
import io.jmigrate.engine.image.proto.ShmemRun;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.proc.FdInfo;
import io.jmigrate.engine.proc.MapsEntry;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.Kcmp;
import io.jmigrate.engine.sys.Mman;
import io.jmigrate.engine.sys.Shmem;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Shmem objects of the tree: shared anonymous memory ({@code /dev/zero (deleted)}, the kernel's hidden shmem file)
 * and memfds ({@code /memfd:NAME (deleted)}), mapped or held as descriptors, by one process or several.
 *
 * <p>An object is identified by its shmem inode, the same in every process that maps or holds it. Its contents
 * are dumped once, by the first process of the tree (in dump order) that uses it, into that process's pages
 * file: they are read as a file, through {@code /proc/PID/map_files/START-END} (root may open it) or
 * {@code /proc/PID/fd/N}, and only the ranges lseek(SEEK_DATA) reports are copied. Reading the object, not
 * each process's page tables, is what makes this right: a page another process wrote, or one swapped out, is in
 * the object but in no page table of the process being dumped, and process_vm_readv of present pages would miss
 * it or copy it once per process.
 */
final class SharedMemoryCollector {
    private static final long PAGE = Mman.PAGE_SIZE;

    /** Objects already dumped (by an earlier process of the tree). */
    private final Set<Long> dumped = new HashSet<>();
    /** Seals of every object met so far, to check every process's mappings against them. */
    private final Map<Long, Integer> sealsByInode = new HashMap<>();
    long bytesWritten;

    /** Shared anonymous memory or a memfd: a shmem inode jmigrate recreates from the images. */
    static boolean isShmem(MapsEntry m) {
        if (m.inode() == 0 || m.devMajor() != 0) return false;
        String name = m.name();
        return (m.deleted() && (m.path().equals("/dev/zero") || m.path().startsWith("/memfd:")))
                || name.startsWith("[anon_shmem:");
    }

    /** The name of {@code m} under /proc/PID/map_files. */
    static String mapFilesName(MapsEntry m) {
        return Long.toHexString(m.start()) + "-" + Long.toHexString(m.end());
    }

    /** memfds with MFD_HUGETLB live on hugetlbfs, which this dump does not read page by page: refused. */
    static void requireTmpfs(Path object, String where) {
        int fd;
        try {
            fd = Files.open(object.toString(), Files.O_RDONLY | Files.O_CLOEXEC);
        } catch (ErrnoException e) {
            throw new DumpRefusedException(where + ": cannot open its shared memory object " + object + " (" + e.getMessage() + ")");
        }
        try {
            if (Shmem.filesystemType(fd) != Shmem.TMPFS_MAGIC) {
                throw new DumpRefusedException(where + " is shared memory on hugetlbfs (memfd_create MFD_HUGETLB); huge-page shared memory is not supported yet");
            }
        } finally {
            Files.closeQuietly(fd);
        }
    }

    static DumpRefusedException refuseSysv(String where, MapsEntry m) {
        String key = m.path().substring("/SYSV".length());
        return new DumpRefusedException(where + " is the SysV shared memory segment key 0x" + key + " shmid " + m.inode()
                + "; SysV shm (shmget/shmat) is not supported yet: detach it (shmdt) before the dump, or share memory with"
                + " mmap(MAP_SHARED|MAP_ANONYMOUS) or memfd_create, which are supported");
    }

    /**
     * Refuses shared memory that a process outside the tree also maps or holds: the restore would give the tree a
     * copy of its own, and the two would silently stop sharing. Run before the freeze; reads every process's maps
     * (and its descriptors' links), so only when the tree uses shared memory at all.
     */
    /** @return how many processes outside the tree were looked at (0 when the tree uses no shared memory) */
    static int checkNotSharedOutside(ProcFs procfs, List<Integer> tree, Map<Integer, FdTable> fds) {
        Map<Long, String> used = new HashMap<>();
        for (int pid : tree) {
            for (MapsEntry m : procfs.maps(pid)) {
                if (isShmem(m)) used.putIfAbsent(m.inode(), "mapping " + VmaCollector.hex(m.start()) + "-" + VmaCollector.hex(m.end())
                        + " (" + m.name() + ") of PID " + pid);
            }
            for (FdEntry fd : fds.get(pid).getFdsList()) {
                if (fd.getKind() == FdKind.FD_MEMFD) used.putIfAbsent(fd.getInode(), "fd " + fd.getFd() + " (" + fd.getPath() + ") of PID " + pid);
            }
        }
        if (used.isEmpty()) return 0;
        Set<Integer> inTree = new HashSet<>(tree);
        java.io.File[] entries = new java.io.File("/proc").listFiles();
        if (entries == null) return 0;
        int scanned = 0;
        for (java.io.File entry : entries) {
            if (!entry.getName().chars().allMatch(Character::isDigit)) continue;
            int other = Integer.parseInt(entry.getName());
            if (inTree.contains(other)) continue;
            scanned++;
            try {
                for (MapsEntry m : procfs.maps(other)) {
                    if (isShmem(m) && used.containsKey(m.inode())) throw sharedOutside(used.get(m.inode()), m.inode(), other);
                }
                for (int fd : procfs.fdNumbers(other)) {
                    String target = procfs.fdTarget(other, fd);
                    if (!isMemfdTarget(target) && !target.equals("/dev/zero" + MapsEntry.DELETED_SUFFIX)) continue;
                    Object ino = java.nio.file.Files.getAttribute(Path.of("/proc", entry.getName(), "fd", Integer.toString(fd)), "unix:ino");
                    if (used.containsKey((Long) ino)) throw sharedOutside(used.get((Long) ino), (Long) ino, other);
                }
            } catch (DumpRefusedException e) {
                throw e;
            } catch (RuntimeException | IOException gone) {
                // the process ended, or is a kernel thread: it shares nothing
            }
        }
        return scanned;
    }

    private static DumpRefusedException sharedOutside(String where, long inode, int other) {
        return new DumpRefusedException(where + " is shared memory (inode " + inode + ") that PID " + other
                + ", outside the dumped tree, uses too; the restored tree would stop sharing it: dump a tree that holds"
                + " every process using it");
    }

    /** A descriptor of a memfd: its object is dumped with the memory, this entry says which one and how it is open. */
    static FdEntry describeMemfd(ProcFs procfs, int pid, int fd, String target) {
        String which = "fd " + fd + " of PID " + pid;
        Path link = Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd));
        requireTmpfs(link, which + " (" + target + ")");
        Map<String, Object> st;
        try {
            st = java.nio.file.Files.readAttributes(link, "unix:*");
        } catch (IOException e) {
            throw new DumpRefusedException(which + " (" + target + ") cannot be inspected: " + e.getMessage());
        }
        FdInfo info = procfs.fdInfo(pid, fd);
        return FdEntry.newBuilder().setFd(fd).setKind(FdKind.FD_MEMFD).setPath(target).setFlags(info.flags())
                .setPos(info.pos()).setMode((Integer) st.get("mode")).setDev((Long) st.get("dev"))
                .setInode((Long) st.get("ino")).setSize((Long) st.get("size")).build();
    }

    static boolean isMemfdTarget(String target) {
        return target.startsWith("/memfd:") && target.endsWith(MapsEntry.DELETED_SUFFIX);
    }

    /**
     * Gives each open file of a memfd a tree-wide id (memfd_file): descriptors with one id are one open file
     * (dups, or inherited across fork) and share offset and flags again after the restore. kcmp tells them apart.
     */
    static Map<Integer, FdTable> linkMemfds(Map<Integer, FdTable> tables) {
        record Holder(int pid, int fd, long inode, int id) {}
        List<Holder> seen = new ArrayList<>();
        Map<Integer, FdTable> out = new LinkedHashMap<>();
        for (Map.Entry<Integer, FdTable> e : tables.entrySet()) {
            int pid = e.getKey();
            FdTable.Builder table = e.getValue().toBuilder();
            for (FdEntry.Builder fd : table.getFdsBuilderList()) {
                if (fd.getKind() != FdKind.FD_MEMFD) continue;
                for (Holder h : seen) {
                    if (h.inode() == fd.getInode() && Kcmp.sameFile(h.pid(), h.fd(), pid, fd.getFd())) {
                        fd.setMemfdFile(h.id());
                        break;
                    }
                }
                if (fd.getMemfdFile() == 0) {
                    fd.setMemfdFile(seen.size() + 1);
                    seen.add(new Holder(pid, fd.getFd(), fd.getInode(), seen.size() + 1));
                }
            }
            out.put(pid, table.build());
        }
        return out;
    }

    /**
     * The objects process {@code pid} is the first of the tree to use: their contents are appended to its pages
     * file and their descriptions returned for its mm image. Runs while the whole tree is frozen.
     */
    List<ShmemObject> dumpOwned(int pid, List<Vma> vmas, FdTable fds, ShmemSink pages) {
        List<ShmemObject> owned = new ArrayList<>();
        for (Vma vma : vmas) {
            if (vma.getShmemInode() == 0) continue;
            String where = "mapping " + VmaCollector.hex(vma.getStart()) + "-" + VmaCollector.hex(vma.getEnd()) + " ("
                    + vma.getName() + ") of PID " + pid;
            if (dumped.add(vma.getShmemInode())) {
                boolean anon = !vma.getName().startsWith("/memfd:");
                Path path = Path.of("/proc", Integer.toString(pid), "map_files",
                        Long.toHexString(vma.getStart()) + "-" + Long.toHexString(vma.getEnd()));
                owned.add(dump(path, vma.getShmemInode(), anon ? ShmemKind.SHMEM_ANON : ShmemKind.SHMEM_MEMFD,
                        anon ? "" : memfdName(vma.getName()), pages, where));
            }
            int seals = sealsByInode.getOrDefault(vma.getShmemInode(), 0);
            if ((seals & Shmem.F_SEAL_FUTURE_WRITE) != 0 && (vma.getFlags() & Mman.MAP_SHARED) != 0
                    && (vma.getProt() & Mman.PROT_WRITE) != 0) {
                throw new DumpRefusedException(where + " is a writable shared mapping of a memfd sealed with"
                        + " F_SEAL_FUTURE_WRITE afterwards; it could not be mapped again");
            }
        }
        for (FdEntry fd : fds.getFdsList()) {
            if (fd.getKind() != FdKind.FD_MEMFD || !dumped.add(fd.getInode())) continue;
            Path path = Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd.getFd()));
            owned.add(dump(path, fd.getInode(), ShmemKind.SHMEM_MEMFD, memfdName(fd.getPath()), pages,
                    "fd " + fd.getFd() + " of PID " + pid + " (" + fd.getPath() + ")"));
        }
        return owned;
    }

    private static String memfdName(String shown) {
        String path = shown.endsWith(MapsEntry.DELETED_SUFFIX)
                ? shown.substring(0, shown.length() - MapsEntry.DELETED_SUFFIX.length()) : shown;
        return path.startsWith("/memfd:") ? path.substring("/memfd:".length()) : path;
    }

    private ShmemObject dump(Path path, long inode, ShmemKind kind, String name, ShmemSink pages, String where) {
        ShmemObject.Builder object = ShmemObject.newBuilder().setInode(inode).setKind(kind).setName(name);
        int fd = Files.open(path.toString(), Files.O_RDONLY | Files.O_CLOEXEC);
        try (FileChannel in = FileChannel.open(Path.of("/proc/self/fd", Integer.toString(fd)), StandardOpenOption.READ)) {
            Map<String, Object> st = java.nio.file.Files.readAttributes(path, "unix:ino,size,mode");
            if ((Long) st.get("ino") != inode) {
                throw new DumpRefusedException(where + ": " + path + " is inode " + st.get("ino") + ", not " + inode);
            }
            long size = (Long) st.get("size");
            int seals = Shmem.seals(fd);
            sealsByInode.put(inode, seals);
            object.setSize(size).setMode((Integer) st.get("mode") & 07777).setSeals(kind == ShmemKind.SHMEM_MEMFD ? seals : 0);
            // one run per data range; the object ends inside its last page: the rest of that page is zeros
            for (long[] range : Shmem.dataRanges(fd, size)) {
                long start = range[0] & ~(PAGE - 1);
                long end = (range[1] + PAGE - 1) & ~(PAGE - 1);
                long fileOffset = pages.copy(in, start, Math.min(end, size) - start, end - start);
                object.addRuns(ShmemRun.newBuilder().setOffset(start).setLength(end - start).setFileOffset(fileOffset));
                bytesWritten += end - start;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the shared memory of " + where + " through " + path, e);
        } finally {
            Files.closeQuietly(fd);
        }
        return object.build();
    }
}
