package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.PipeContents;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Pipes;

import java.util.HashSet;
import java.util.Set;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Reopens each file descriptor by path with its flags, at its number, at its offset. */
final class FdRestorer {
    private static final int DEFAULT_PIPE_CAPACITY = 65536;
    private static final int PIPE2 = 293, FCNTL = 72, F_DUPFD = 0, F_SETFL = 4;
    /** Status flags F_SETFL can change; the access mode and creation flags are fixed at open. */
    private static final int STATUS_FLAGS = 02000 | 04000 | 040000 | 01000000;   // O_APPEND O_NONBLOCK O_DIRECT O_NOATIME
    private static final int O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000,
            O_CLOEXEC = 02000000, AT_FDCWD = -100, SEEK_SET = 0;

    private FdRestorer() {}

    /** Checks, before anything is created, that every file is still where the dump found it. */
    static void verify(FdTable fds) {
        UnixSocketRestorer.verify(fds);
        for (FdEntry fd : fds.getFdsList()) {
            if (fd.getKind() == FdKind.FD_PIPE) continue;
            if (fd.getKind() == FdKind.FD_UNIX_SOCKET) continue;
            Path path = Path.of(fd.getPath());
            try {
                Map<String, Object> st = Files.readAttributes(path, "unix:ino,dev,size");
                if (fd.getKind() == io.jmigrate.engine.image.proto.FdKind.FD_REGULAR
                        && ((Long) st.get("size")) < fd.getPos() && (fd.getFlags() & 02000) == 0) {
                    throw new RestoreException("fd " + fd.getFd() + ": " + path + " is now shorter (" + st.get("size")
                            + " bytes) than the dumped offset " + fd.getPos());
                }
            } catch (IOException e) {
                throw new RestoreException("fd " + fd.getFd() + ": " + path + " cannot be reopened: " + e.getMessage());
            }
        }
    }

    /**
     * Recreates a pipe the process held both ends of: pipe2 in the puppet, both ends moved above every dumped
     * fd number (so no dup3 below can hit the other end), duplicated to each fd that held them, status flags
     * and capacity set, then the buffered bytes written back in through a descriptor of ours.
     */
    private static void restorePipe(Puppet puppet, FdTable fds, long inode, int above) {
        puppet.resetScratch();
        long pair = puppet.put(new byte[8]);
        puppet.call("pipe2", PIPE2, pair, 0);
        byte[] raw = io.jmigrate.engine.sys.ProcessVm.readBytes(puppet.pid, pair, 8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int[] ends = {b.getInt(0), b.getInt(4)};
        for (int i = 0; i < 2; i++) {
            int high = (int) puppet.call("fcntl(F_DUPFD)", FCNTL, ends[i], F_DUPFD, above);
            puppet.call("close", SyscallNumbers.CLOSE, ends[i]);
            ends[i] = high;
        }
        boolean[] flagsSet = new boolean[2];
        int writeTarget = -1;
        for (FdEntry fd : fds.getFdsList()) {
            if (fd.getKind() != FdKind.FD_PIPE || fd.getPipeInode() != inode) continue;
            int end = (fd.getFlags() & 3) == 1 ? 1 : 0;
            puppet.call("dup3 pipe to fd " + fd.getFd(), SyscallNumbers.DUP3, ends[end], fd.getFd(), fd.getFlags() & O_CLOEXEC);
            if (!flagsSet[end]) {
                puppet.call("fcntl(F_SETFL)", FCNTL, fd.getFd(), F_SETFL, fd.getFlags() & STATUS_FLAGS);
                flagsSet[end] = true;
            }
            if (end == 1) writeTarget = fd.getFd();
        }
        PipeContents contents = fds.getPipesList().stream().filter(p -> p.getInode() == inode).findFirst().orElse(null);
        if (contents != null) {
            if (contents.getCapacity() != 0 && contents.getCapacity() != DEFAULT_PIPE_CAPACITY) {
                puppet.call("fcntl(F_SETPIPE_SZ)", FCNTL, ends[0], Pipes.F_SETPIPE_SZ, contents.getCapacity());
            }
            if (!contents.getData().isEmpty()) {
                int pidfd = PidFd.open(puppet.pid);
                int ours = PidFd.getFd(pidfd, ends[1]);
                try {
                    Pipes.writeFully(ours, contents.getData().toByteArray());
                } finally {
                    io.jmigrate.engine.sys.Files.closeQuietly(ours);
                    io.jmigrate.engine.sys.Files.closeQuietly(pidfd);
                }
            }
        }
        puppet.call("close", SyscallNumbers.CLOSE, ends[0]);
        puppet.call("close", SyscallNumbers.CLOSE, ends[1]);
    }

    static void restore(Puppet puppet, FdTable fds) {
        puppet.call("close_range", SyscallNumbers.CLOSE_RANGE, 0, 0xffffffffL, 0);
        int above = fds.getFdsList().stream().mapToInt(FdEntry::getFd).max().orElse(0) + 1;
        Set<Long> pipesDone = new HashSet<>();
        UnixSocketRestorer sockets = new UnixSocketRestorer(fds);
        for (FdEntry fd : fds.getFdsList()) {
            if (fd.getKind() == FdKind.FD_UNIX_SOCKET) {
                sockets.restore(puppet, fd, above);
                continue;
            }
            if (fd.getKind() == FdKind.FD_PIPE) {
                if (pipesDone.add(fd.getPipeInode())) restorePipe(puppet, fds, fd.getPipeInode(), above);
                continue;
            }
            puppet.resetScratch();
            int flags = fd.getFlags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
            long opened = puppet.call("open fd " + fd.getFd() + " " + fd.getPath(), SyscallNumbers.OPENAT, AT_FDCWD,
                    puppet.putString(fd.getPath()), flags, 0);
            if (opened != fd.getFd()) {
                puppet.call("dup3 to fd " + fd.getFd(), SyscallNumbers.DUP3, opened, fd.getFd(), flags & O_CLOEXEC);
                puppet.call("close", SyscallNumbers.CLOSE, opened);
            }
            if (fd.getKind() == io.jmigrate.engine.image.proto.FdKind.FD_REGULAR && fd.getPos() != 0) {
                puppet.call("lseek fd " + fd.getFd(), SyscallNumbers.LSEEK, fd.getFd(), fd.getPos(), SEEK_SET);
            }
        }
    }
}
