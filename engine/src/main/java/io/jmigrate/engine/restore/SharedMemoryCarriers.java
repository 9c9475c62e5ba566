package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.ShmemKind;
import io.jmigrate.engine.image.proto.ShmemObject;
import io.jmigrate.engine.image.proto.ShmemRun;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.sys.Mman;
import io.jmigrate.engine.sys.Shmem;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every shmem object of the tree (shared anonymous memory, memfds) is made once, in the root puppet before it
 * forks the others, filled with its dumped contents and kept at a "carrier" descriptor above every other
 * carrier. Each process then maps the carriers where it had the object mapped and dup3s the memfd descriptors
 * it held: processes that shared an object share the very same one again. The carriers are closed at the end
 * of each process's descriptor restore.
 *
 * <ul>
 *   <li>shared anonymous memory is made the way the program made it, mmap(MAP_SHARED|MAP_ANONYMOUS), and the
 *       puppet opens it through /proc/self/map_files: the object stays the kernel's "/dev/zero (deleted)" file,
 *       so a later dump sees shared anonymous memory again, not a memfd;</li>
 *   <li>a memfd is memfd_create'd with its name, sized, filled, given its mode, and only then sealed.</li>
 *   <li>each open file of a memfd (FdEntry.memfd_file) is opened once more through /proc/self/fd/CARRIER with
 *       its flags and offset, so descriptors that shared an open file share it again, and separate opens stay
 *       separate.</li>
 * </ul>
 */
final class SharedMemoryCarriers {
    private static final int AT_FDCWD = -100, O_RDWR = 2, FCNTL = 72, FTRUNCATE = 77,
            FCHMOD = 91, MEMFD_CREATE = 319, MFD_ALLOW_SEALING = 2;
    private static final int O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000, O_CLOEXEC = 02000000;

    private record Owned(ShmemObject object, Path pages) {}

    private final int base;
    private final Map<Long, Owned> objects = new LinkedHashMap<>();
    private final Map<Integer, FdEntry> openFiles = new LinkedHashMap<>();

    private SharedMemoryCarriers(int base) {
        this.base = base;
    }

    /** Checks that every mapping and memfd descriptor has its object in the images; carriers from {@code base}. */
    static SharedMemoryCarriers plan(ImageSet images, List<ProcessEntry> tree, int base) {
        SharedMemoryCarriers plan = new SharedMemoryCarriers(base);
        List<ProcessEntry> live = tree.stream().filter(e -> !e.getZombie()).toList();
        for (ProcessEntry e : live) {
            for (ShmemObject o : images.mm(e.getPid()).getShmemObjectsList()) {
                plan.objects.putIfAbsent(o.getInode(), new Owned(o, images.shmemContentsPath(e.getPid())));
            }
        }
        for (ProcessEntry e : live) {
            MmImage mm = images.mm(e.getPid());
            for (Vma v : mm.getVmasList()) {
                if (v.getShmemInode() != 0 && !plan.objects.containsKey(v.getShmemInode())) {
                    throw new RestoreException("PID " + e.getPid() + ": mapping " + AddressSpaceRestorer.describe(v)
                            + " maps shared memory inode " + v.getShmemInode() + " that is not in the images");
                }
            }
            FdTable fds = images.fds(e.getPid());
            for (FdEntry fd : fds.getFdsList()) {
                if (fd.getKind() != FdKind.FD_MEMFD) continue;
                if (!plan.objects.containsKey(fd.getInode())) {
                    throw new RestoreException("PID " + e.getPid() + ": fd " + fd.getFd() + " (" + fd.getPath()
                            + ") holds memfd inode " + fd.getInode() + " that is not in the images");
                }
                plan.openFiles.putIfAbsent(fd.getMemfdFile(), fd);
            }
        }
        return plan;
    }

    /** The carrier of object {@code inode}, open read-write: what its mappings are mapped from. */
    int object(long inode) {
        int i = List.copyOf(objects.keySet()).indexOf(inode);
        if (i < 0) throw new RestoreException("shared memory inode " + inode + " is not in the images");
        return base + i;
    }

    /** The carrier of memfd open file {@code id}. */
    int file(int id) {
        int i = List.copyOf(openFiles.keySet()).indexOf(id);
        if (i < 0) throw new RestoreException("memfd open file " + id + " is not in the images");
        return base + objects.size() + i;
    }

    /** Makes every object and memfd open file in the root puppet, before it forks the others; returns the bytes filled. */
    long create(Puppet root) {
        long filled = 0;
        for (Owned owned : objects.values()) {
            ShmemObject o = owned.object();
            int carrier = object(o.getInode());
            root.resetScratch();
            int fd = o.getKind() == ShmemKind.SHMEM_ANON ? createAnonymous(root, o) : createMemfd(root, o);
            place(root, fd, carrier);
            filled += fill(root.pid, carrier, o, owned.pages());
            if (o.getKind() == ShmemKind.SHMEM_MEMFD) {
                root.call("fchmod memfd " + o.getName(), FCHMOD, carrier, o.getMode());
                // last: seals such as F_SEAL_WRITE would refuse the filling, F_SEAL_EXEC the fchmod
                if (o.getSeals() != 0) root.call("fcntl(F_ADD_SEALS) memfd " + o.getName(), FCNTL, carrier, Shmem.F_ADD_SEALS, o.getSeals());
            }
        }
        for (Map.Entry<Integer, FdEntry> e : openFiles.entrySet()) {
            FdEntry fd = e.getValue();
            root.resetScratch();
            int flags = fd.getFlags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC);
            long opened = root.call("reopen memfd " + fd.getPath(), SyscallNumbers.OPENAT, AT_FDCWD,
                    root.putString("/proc/self/fd/" + object(fd.getInode())), flags, 0);
            if (fd.getPos() != 0) root.call("lseek memfd " + fd.getPath(), SyscallNumbers.LSEEK, opened, fd.getPos(), 0);
            place(root, (int) opened, file(e.getKey()));
        }
        return filled;
    }

    int objectCount() { return objects.size(); }

    /** Drops the carriers once the process has mapped its objects and placed its descriptors. */
    void close(Puppet puppet) {
        int count = objects.size() + openFiles.size();
        if (count > 0) puppet.call("close_range shared memory carriers", SyscallNumbers.CLOSE_RANGE, base, base + count - 1, 0);
    }

    private static int createAnonymous(Puppet root, ShmemObject o) {
        long size = Math.max(Mman.PAGE_SIZE, (o.getSize() + Mman.PAGE_SIZE - 1) & ~(Mman.PAGE_SIZE - 1));
        long addr = root.call("mmap shared anonymous " + size + " bytes", SyscallNumbers.MMAP, 0, size,
                Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED | Mman.MAP_ANONYMOUS, -1, 0);
        try {
            String mapFile = "/proc/self/map_files/" + Long.toHexString(addr) + "-" + Long.toHexString(addr + size);
            return (int) root.call("open " + mapFile, SyscallNumbers.OPENAT, AT_FDCWD, root.putString(mapFile), O_RDWR, 0);
        } finally {
            root.call("munmap shared anonymous", SyscallNumbers.MUNMAP, addr, size);
        }
    }

    private static int createMemfd(Puppet root, ShmemObject o) {
        int fd = (int) root.call("memfd_create " + o.getName(), MEMFD_CREATE, root.putString(o.getName()), MFD_ALLOW_SEALING);
        root.call("ftruncate memfd " + o.getName(), FTRUNCATE, fd, o.getSize());
        return fd;
    }

    /** Writes the dumped contents into the object, from outside, through the root puppet's carrier. */
    private static long fill(int pid, int carrier, ShmemObject o, Path pages) {
        if (o.getRunsCount() == 0) return 0;
        long filled = 0;
        try (FileChannel from = FileChannel.open(pages, StandardOpenOption.READ);
             FileChannel to = FileChannel.open(Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(carrier)),
                     StandardOpenOption.WRITE)) {
            for (ShmemRun run : o.getRunsList()) {
                // the last run was padded to a page: writing past the size would grow the object
                long len = Math.min(run.getLength(), o.getSize() - run.getOffset());
                if (run.getFileOffset() + run.getLength() > from.size()) {
                    throw new RestoreException(pages + " is too short for the shared memory run at " + run.getFileOffset());
                }
                to.position(run.getOffset());
                for (long done = 0; done < len; ) {
                    long n = from.transferTo(run.getFileOffset() + done, len - done, to);
                    if (n <= 0) throw new RestoreException("short copy of shared memory inode " + o.getInode() + " from " + pages);
                    done += n;
                }
                filled += len;
            }
            return filled;
        } catch (IOException e) {
            throw new UncheckedIOException("filling shared memory inode " + o.getInode(), e);
        }
    }

    private static void place(Puppet root, int fd, int carrier) {
        root.call("dup3 to shared memory carrier " + carrier, SyscallNumbers.DUP3, fd, carrier, 0);
        root.call("close", SyscallNumbers.CLOSE, fd);
    }
}
