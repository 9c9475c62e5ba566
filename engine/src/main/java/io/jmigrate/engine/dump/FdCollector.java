package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdTable;

import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.proc.FdInfo;
import io.jmigrate.engine.proc.ProcFs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.HashMap;
import java.util.ArrayList;
import io.jmigrate.engine.sys.Kcmp;

/** Describes each open file descriptor, refusing kinds we cannot reopen yet. */
final class FdCollector {
    private static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000, S_IFCHR = 0020000, S_IFIFO = 0010000;
    /** (major, minor) of character devices that hold no state: reopening by path is a faithful restore. */
    private static final Set<Long> STATELESS_DEVICES = Set.of(dev(1, 3), dev(1, 5), dev(1, 7), dev(1, 8), dev(1, 9));

    private FdCollector() {}

    /** The process's descriptors; pipes are described here and checked and read tree-wide by {@link PipeCollector}. */
    static FdTable collect(ProcFs procfs, int pid) {
        return collect(procfs, pid, true, false, Set.of());
    }

    static FdTable collect(ProcFs procfs, int pid, boolean frozen) {
        return collect(procfs, pid, frozen, false, Set.of());
    }

    /**
     * @param frozen   the process is frozen: socket queues are read only then (see {@link UnixSocketCollector})
     * @param shellJob terminals are dumped as FD_TTY (--shell-job) instead of refused
     * @param ignored  fds that are ours, not the process's (the pre-copy dirty tracker's userfaultfd)
     */
    static FdTable collect(ProcFs procfs, int pid, boolean frozen, boolean shellJob, Set<Integer> ignored) {
        try (UnixSocketCollector sockets = new UnixSocketCollector(pid, frozen)) {
            FdTable.Builder table = collect(procfs, pid, sockets, frozen, shellJob, ignored);
            sockets.addStates(table);
            return table.build();
        }
    }

    private static FdTable.Builder collect(ProcFs procfs, int pid, UnixSocketCollector sockets, boolean frozen,
                                           boolean shellJob, Set<Integer> ignored) {
        FdTable.Builder table = FdTable.newBuilder();
        for (int fd : procfs.fdNumbers(pid)) {
            if (ignored.contains(fd)) continue;
            String target;
            try {
                target = procfs.fdTarget(pid, fd);
            } catch (java.io.UncheckedIOException e) {
                // a running process (the rehearsal) may close an fd between the listing and its readlink: it is
                // gone, nothing to check; once frozen, the table cannot change, so this is a real failure
                if (!frozen && e.getCause() instanceof java.nio.file.NoSuchFileException) continue;
                throw e;
            }
            if (target.startsWith("socket:")) {
                FdEntry inet = TcpListenCollector.describe(procfs, pid, fd, target, frozen);
                table.addFds(inet != null ? inet : sockets.describe(procfs, fd, target));
                continue;
            }
            table.addFds(target.startsWith("pipe:") ? describePipe(procfs, pid, fd, target) : describe(procfs, pid, fd, target, shellJob));
        }
        AnonFdCollector.link(pid, table);
        linkFileDups(pid, table);
        return table;
    }

    /**
     * Descriptors that are dups of one open file (`2>&1`, dup2) share its offset and flags: marked dup_of the
     * lowest such fd so the restore dup3s them instead of opening the file again (kcmp tells them apart from two
     * separate opens of the same path).
     */
    private static void linkFileDups(int pid, FdTable.Builder table) {
        Map<Long, List<Integer>> byInode = new HashMap<>();
        for (FdEntry.Builder e : table.getFdsBuilderList()) {
            FdKind kind = e.getKind();
            if (kind != FdKind.FD_REGULAR && kind != FdKind.FD_DIRECTORY && kind != FdKind.FD_CHAR_DEVICE
                    && kind != FdKind.FD_FIFO && kind != FdKind.FD_TTY) continue;
            List<Integer> seen = byInode.computeIfAbsent(e.getDev() * 31 + e.getInode(), k -> new ArrayList<>());
            for (int candidate : seen) {
                if (Kcmp.sameFile(pid, candidate, e.getFd())) {
                    e.setDupOf(candidate);
                    break;
                }
            }
            if (!e.hasDupOf()) seen.add(e.getFd());
        }
    }

    private static FdEntry describePipe(ProcFs procfs, int pid, int fd, String target) {
        long inode = Long.parseLong(target.substring("pipe:[".length(), target.length() - 1));
        FdInfo info = procfs.fdInfo(pid, fd);
        return FdEntry.newBuilder().setFd(fd).setKind(FdKind.FD_PIPE).setPath(target).setFlags(info.flags())
                .setPipeInode(inode).build();
    }

    private static FdEntry describe(ProcFs procfs, int pid, int fd, String target, boolean shellJob) {
        String which = "fd " + fd + " of PID " + pid;
        if (target.startsWith("anon_inode:")) return AnonFdCollector.describe(procfs, pid, fd, target);
        if (!target.startsWith("/")) throw refuse(which, "is " + target + "; this kind of descriptor is not supported yet");
        if (SharedMemoryCollector.isMemfdTarget(target)) return SharedMemoryCollector.describeMemfd(procfs, pid, fd, target);
        if (target.endsWith(" (deleted)")) {
            throw refuse(which, "is the deleted file " + target + "; open deleted files are not supported yet");
        }
        Map<String, Object> st;
        try {
            st = Files.readAttributes(Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd)), "unix:*");
        } catch (IOException e) {
            throw refuse(which, "cannot be inspected: " + e.getMessage());
        }
        int mode = (Integer) st.get("mode");
        long ino = (Long) st.get("ino");
        long devNo = (Long) st.get("dev");
        FdInfo info = procfs.fdInfo(pid, fd);
        FdEntry.Builder b = FdEntry.newBuilder().setFd(fd).setPath(target).setFlags(info.flags()).setPos(info.pos())
                .setMode(mode).setDev(devNo).setInode(ino);
        switch (mode & S_IFMT) {
            case S_IFREG -> {
                requireSameFile(which, target, devNo, ino);
                b.setKind(FdKind.FD_REGULAR).setSize((Long) st.get("size"));
            }
            case S_IFDIR -> {
                requireSameFile(which, target, devNo, ino);
                b.setKind(FdKind.FD_DIRECTORY);
            }
            case S_IFCHR -> {
                long rdev = (Long) st.get("rdev");
                long majorMinor = dev((int) ((rdev >>> 8) & 0xfff), (int) ((rdev & 0xff) | ((rdev >>> 12) & 0xfff00)));
                if (isTerminal(majorMinor)) {
                    if (!shellJob) {
                        throw refuse(which, "is the terminal " + target + "; dump with --shell-job to reconnect it to the "
                                + "terminal of the restoring jmigrate (restore --shell-job), or start the program with "
                                + "stdio redirected (< /dev/null > log 2>&1)");
                    }
                    return b.setKind(FdKind.FD_TTY).setRdev((int) rdev).setPos(0).build();
                }
                if (!STATELESS_DEVICES.contains(majorMinor)) {
                    throw refuse(which, "is the character device " + target
                            + "; only /dev/null, /dev/zero, /dev/full, /dev/random and /dev/urandom are supported");
                }
                b.setKind(FdKind.FD_CHAR_DEVICE).setRdev((int) rdev);
            }
            case S_IFIFO -> {         // a named pipe: reopened by path, its bytes kept (FifoCollector)
                requireSameFile(which, target, devNo, ino);
                b.setKind(FdKind.FD_FIFO).setPos(0);
            }
            default -> throw refuse(which, "is " + target + ", a file type that is not supported yet");
        }
        return b.build();
    }

    /** A terminal a program talks through: pty slaves (/dev/pts/N), virtual consoles, /dev/tty, /dev/console. */
    private static boolean isTerminal(long majorMinor) {
        int major = (int) (majorMinor >>> 32), minor = (int) majorMinor;
        return (major >= 136 && major <= 143) || major == 4 || (major == 5 && (minor == 0 || minor == 1));
    }

    private static void requireSameFile(String which, String target, long devNo, long ino) {
        try {
            Map<String, Object> byPath = Files.readAttributes(Path.of(target), "unix:dev,ino");
            if ((Long) byPath.get("ino") != ino || (Long) byPath.get("dev") != devNo) {
                throw refuse(which, "is " + target + ", but that path now names another file (renamed or replaced)");
            }
        } catch (IOException e) {
            throw refuse(which, "is " + target + ", which cannot be reached by its path (" + e.getMessage() + ")");
        }
    }

    private static DumpRefusedException refuse(String which, String what) {
        return new DumpRefusedException(which + " " + what);
    }

    private static long dev(int major, int minor) {
        return ((long) major << 32) | minor;
    }
}
