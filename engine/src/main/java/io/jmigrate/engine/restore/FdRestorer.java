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
    private static final int FCNTL = 72, F_SETFL = 4;
    /** Status flags F_SETFL can change; the access mode and creation flags are fixed at open. */
    private static final int STATUS_FLAGS = 02000 | 04000 | 040000 | 01000000;   // O_APPEND O_NONBLOCK O_DIRECT O_NOATIME
    private static final int O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000,
            O_CLOEXEC = 02000000, AT_FDCWD = -100, SEEK_SET = 0;

    private FdRestorer() {}

    /** Checks, before anything is created, that every file is still where the dump found it. */
    static void verify(FdTable fds) {
        TcpListenRestorer.verify(fds);
        TcpConnRestorer.verify(fds);
        for (FdEntry fd : fds.getFdsList()) {
            if (fd.getKind() == FdKind.FD_PIPE || fd.getKind() == FdKind.FD_UNIX_SOCKET || fd.getKind() == FdKind.FD_MEMFD
                    || AnonFdRestorer.handles(fd)
                    || TcpListenRestorer.handles(fd) || TcpConnRestorer.handles(fd)) continue;
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

    static void restore(Puppet puppet, FdTable fds, PipeCarriers carriers, SharedMemoryCarriers sharedMemory) {
        puppet.call("close_range", SyscallNumbers.CLOSE_RANGE, 0, carriers.base() - 1, 0);
        int above = carriers.base();          // temporaries go above every dumped fd number of the tree
        for (FdEntry fd : fds.getFdsList()) {
            if (fd.getKind() == FdKind.FD_UNIX_SOCKET) {
                carriers.sockets().place(puppet, fd);
                continue;
            }
            if (TcpListenRestorer.handles(fd)) {
                TcpListenRestorer.restore(puppet, fds, fd, above);
                continue;
            }
            if (TcpConnRestorer.handles(fd)) continue;          // after the listeners, below
            if (fd.getKind() == FdKind.FD_PIPE) {
                boolean writeEnd = (fd.getFlags() & 3) == 1;
                puppet.call("dup3 pipe to fd " + fd.getFd(), SyscallNumbers.DUP3, carriers.end(fd.getPipeInode(), writeEnd),
                        fd.getFd(), fd.getFlags() & O_CLOEXEC);
                puppet.call("fcntl(F_SETFL)", FCNTL, fd.getFd(), F_SETFL, fd.getFlags() & STATUS_FLAGS);
                continue;
            }
            if (fd.getKind() == FdKind.FD_MEMFD) {      // its open file was made in the root, offset included
                puppet.call("dup3 memfd to fd " + fd.getFd(), SyscallNumbers.DUP3, sharedMemory.file(fd.getMemfdFile()),
                        fd.getFd(), fd.getFlags() & O_CLOEXEC);
                continue;
            }
            if (AnonFdRestorer.handles(fd)) {
                AnonFdRestorer.create(puppet, fd);
                continue;
            }
            if (fd.getSharedFile() != 0) {  // one open file, several processes: opened once, in the root
                puppet.call("dup3 shared file to fd " + fd.getFd(), SyscallNumbers.DUP3, carriers.file(fd.getSharedFile()),
                        fd.getFd(), fd.getFlags() & O_CLOEXEC);
                continue;
            }
            if (fd.hasDupOf()) {           // one open file, several fds: the lower one is open already
                puppet.call("dup3 fd " + fd.getDupOf() + " to fd " + fd.getFd(), SyscallNumbers.DUP3, fd.getDupOf(),
                        fd.getFd(), fd.getFlags() & O_CLOEXEC);
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
        TcpConnRestorer.restoreAll(puppet, fds, above);
        AnonFdRestorer.finish(puppet, fds);       // needs every fd in place: dups, epoll interest lists
        sharedMemory.close(puppet);
        carriers.close(puppet);
    }
}
