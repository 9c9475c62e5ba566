package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.PipeContents;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Pipes;
import io.jmigrate.engine.sys.ProcessVm;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every pipe of the tree is created once, in the root puppet before it forks the others, at fixed "carrier"
 * descriptor numbers above every dumped fd number. Each process inherits the carriers, dup3s the ends it held
 * to their numbers and closes the carriers: processes that shared a pipe share it again, the very same open
 * files, and its buffered bytes are written back once.
 */
final class PipeCarriers {
    private static final int MIN_BASE = 64, PIPE2 = 293, FCNTL = 72, DEFAULT_CAPACITY = 65536;

    private final int base;
    private int filesBase;
    /** Open files several processes share: id -> one of the entries holding it (path, flags, offset). */
    private final Map<Integer, FdEntry> sharedFiles = new LinkedHashMap<>();
    private final Map<Long, Integer> index = new LinkedHashMap<>();
    /** The unix sockets' carriers, in the slots after the pipes'. */
    private UnixSocketRestorer sockets;

    private PipeCarriers(int base) {
        this.base = base;
    }

    static PipeCarriers plan(List<FdTable> tables) {
        int maxFd = tables.stream().flatMap(t -> t.getFdsList().stream()).mapToInt(FdEntry::getFd).max().orElse(0);
        PipeCarriers carriers = new PipeCarriers(Math.max(MIN_BASE, maxFd + 1));
        for (FdTable t : tables) {
            for (FdEntry fd : t.getFdsList()) {
                if (fd.getKind() == FdKind.FD_PIPE) carriers.index.putIfAbsent(fd.getPipeInode(), carriers.index.size());
            }
        }
        carriers.sockets = UnixSocketRestorer.plan(tables, carriers.base + 2 * carriers.index.size());
        carriers.filesBase = carriers.base + 2 * carriers.index.size() + carriers.sockets.count();
        for (FdTable t : tables) {
            for (FdEntry fd : t.getFdsList()) {
                if (fd.getSharedFile() != 0) carriers.sharedFiles.putIfAbsent(fd.getSharedFile(), fd);
            }
        }
        return carriers;
    }

    /** The first descriptor number used by carriers; everything below belongs to the restored process. */
    int base() { return base; }

    boolean isEmpty() { return index.isEmpty() && sockets.count() == 0 && sharedFiles.isEmpty(); }

    /** The first descriptor number after every carrier of this plan. */
    int end() { return filesBase + sharedFiles.size(); }

    /** The unix socket pairs of the tree, at their carriers. */
    UnixSocketRestorer sockets() { return sockets; }

    /** The carrier of one end of pipe {@code inode}. */
    int end(long inode, boolean writeEnd) {
        Integer i = index.get(inode);
        if (i == null) throw new RestoreException("pipe:[" + inode + "] is not in the images' pipe list");
        return base + 2 * i + (writeEnd ? 1 : 0);
    }

    /**
     * Creates every pipe in {@code root} at its carrier numbers, with its capacity and buffered bytes, then every
     * unix socket pair.
     */
    /** The carrier of shared open file {@code id}. */
    int file(int id) {
        if (!sharedFiles.containsKey(id)) throw new RestoreException("shared file " + id + " is not in the images");
        return filesBase + List.copyOf(sharedFiles.keySet()).indexOf(id);
    }

    /** Opens every file the tree's processes share, once, in the root, at its offset. */
    private void createSharedFiles(Puppet root) {
        for (Map.Entry<Integer, FdEntry> e : sharedFiles.entrySet()) {
            FdEntry fd = e.getValue();
            root.resetScratch();
            int flags = fd.getFlags() & ~(0100 | 0200 | 01000 | 0400 | 02000000);   // no O_CREAT/EXCL/TRUNC/NOCTTY/CLOEXEC
            long opened = root.call("open shared " + fd.getPath(), SyscallNumbers.OPENAT, -100, root.putString(fd.getPath()), flags, 0);
            if (fd.getKind() == FdKind.FD_REGULAR && fd.getPos() != 0) {
                root.call("lseek shared " + fd.getPath(), SyscallNumbers.LSEEK, opened, fd.getPos(), 0);
            }
            place(root, (int) opened, file(e.getKey()));
        }
    }

    void create(Puppet root, List<FdTable> tables) {
        createSharedFiles(root);
        Map<Long, PipeContents> contents = new LinkedHashMap<>();
        for (FdTable t : tables) t.getPipesList().forEach(p -> contents.put(p.getInode(), p));
        for (long inode : index.keySet()) {
            root.resetScratch();
            long pair = root.put(new byte[8]);
            root.call("pipe2", PIPE2, pair, 0);
            ByteBuffer b = ByteBuffer.wrap(ProcessVm.readBytes(root.pid, pair, 8)).order(ByteOrder.LITTLE_ENDIAN);
            place(root, b.getInt(0), end(inode, false));
            place(root, b.getInt(4), end(inode, true));
            PipeContents saved = contents.get(inode);
            if (saved == null) continue;
            if (saved.getCapacity() != 0 && saved.getCapacity() != DEFAULT_CAPACITY) {
                root.call("fcntl(F_SETPIPE_SZ)", FCNTL, end(inode, false), Pipes.F_SETPIPE_SZ, saved.getCapacity());
            }
            if (!saved.getData().isEmpty()) {
                int pidfd = PidFd.open(root.pid);
                try {
                    int ours = PidFd.getFd(pidfd, end(inode, true));
                    try {
                        Pipes.writeFully(ours, saved.getData().toByteArray());
                    } finally {
                        Files.closeQuietly(ours);
                    }
                } finally {
                    Files.closeQuietly(pidfd);
                }
            }
        }
        sockets.create(root);
    }

    /** Drops the carriers once the process has its own descriptors. */
    void close(Puppet puppet) {
        if (!isEmpty()) puppet.call("close_range carriers", SyscallNumbers.CLOSE_RANGE, base, 0xffffffffL, 0);
    }

    private static void place(Puppet root, int fd, int carrier) {
        root.call("dup3 to carrier " + carrier, SyscallNumbers.DUP3, fd, carrier, 0);
        root.call("close", SyscallNumbers.CLOSE, fd);
    }
}
