package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.FifoContents;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Pipes;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.util.ArrayList;
import java.util.List;

/**
 * Named pipes: the root puppet opens each FIFO of the tree once by path, O_RDWR (which never blocks on a FIFO), at
 * a carrier number, and writes its saved bytes back through it. While that "keeper" is open, every process opens
 * its own ends by path without blocking (O_NONBLOCK, cleared afterwards) and the bytes stay in the pipe; the
 * keepers are closed with the other carriers.
 */
final class FifoKeepers {
    private static final int O_RDWR = 2, O_NONBLOCK = 04000, AT_FDCWD = -100, FCNTL = 72, F_SETFL = 4,
            O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000, O_CLOEXEC = 02000000,
            STATUS_FLAGS = 02000 | 04000 | 040000 | 01000000, DEFAULT_CAPACITY = 65536;

    private final int base;
    private final List<FifoContents> fifos;

    private FifoKeepers(int base, List<FifoContents> fifos) {
        this.base = base;
        this.fifos = fifos;
    }

    static FifoKeepers plan(List<FdTable> tables, int base) {
        List<FifoContents> fifos = new ArrayList<>();
        for (FdTable t : tables) fifos.addAll(t.getFifosList());
        return new FifoKeepers(base, fifos);
    }

    int count() { return fifos.size(); }

    /** In the root, before the forks: one keeper per FIFO, holding its bytes again. */
    void create(Puppet root) {
        for (int i = 0; i < fifos.size(); i++) {
            FifoContents fifo = fifos.get(i);
            root.resetScratch();
            long fd = root.call("open FIFO " + fifo.getPath(), SyscallNumbers.OPENAT, AT_FDCWD, root.putString(fifo.getPath()),
                    O_RDWR | O_NONBLOCK, 0);
            root.call("dup3 FIFO to carrier", SyscallNumbers.DUP3, fd, base + i, 0);
            root.call("close", SyscallNumbers.CLOSE, fd);
            if (fifo.getCapacity() != 0 && fifo.getCapacity() != DEFAULT_CAPACITY) {
                root.call("fcntl(F_SETPIPE_SZ) of FIFO " + fifo.getPath(), FCNTL, base + i, Pipes.F_SETPIPE_SZ, fifo.getCapacity());
            }
            if (fifo.getData().isEmpty()) continue;
            int pidfd = PidFd.open(root.pid);
            try {
                int ours = PidFd.getFd(pidfd, base + i);
                try {
                    Pipes.writeFully(ours, fifo.getData().toByteArray());
                } finally {
                    Files.closeQuietly(ours);
                }
            } finally {
                Files.closeQuietly(pidfd);
            }
        }
    }

    /** Opens one FIFO end of the process at its number, with its flags; a keeper is open, so this cannot block. */
    static void open(Puppet puppet, FdEntry fd) {
        if (fd.getKind() != FdKind.FD_FIFO) throw new IllegalArgumentException("fd " + fd.getFd() + " is not a FIFO");
        puppet.resetScratch();
        int flags = fd.getFlags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
        long opened = puppet.call("open FIFO fd " + fd.getFd() + " " + fd.getPath(), SyscallNumbers.OPENAT, AT_FDCWD,
                puppet.putString(fd.getPath()), flags | O_NONBLOCK, 0);
        if (opened != fd.getFd()) {
            puppet.call("dup3 to fd " + fd.getFd(), SyscallNumbers.DUP3, opened, fd.getFd(), flags & O_CLOEXEC);
            puppet.call("close", SyscallNumbers.CLOSE, opened);
        }
        puppet.call("fcntl(F_SETFL) of FIFO fd " + fd.getFd(), FCNTL, fd.getFd(), F_SETFL, fd.getFlags() & STATUS_FLAGS);
    }
}
