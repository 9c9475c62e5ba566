package io.jmigrate.engine.dump;

import com.google.protobuf.ByteString;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.FifoContents;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Pipes;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named pipes (FIFOs): each one the tree holds is listed once, under its first holder, with its capacity and the
 * bytes buffered in it, copied out without taking them (tee) while the tree is frozen. The copy is read through a
 * holder's readable fd (pidfd_getfd); a FIFO the tree only writes to is opened by path (O_RDWR, which never blocks
 * on a FIFO). Unlike an anonymous pipe, a FIFO may have its other end outside the tree: after restore that end is
 * simply gone, as if the outside process had closed it.
 */
final class FifoCollector {
    private FifoCollector() {}

    /** Where a FIFO is listed (its first holder) and where its bytes are read from (a readable fd if any). */
    private record Source(int listedUnder, FdEntry entry, int pid, int fd, boolean readable) {}

    static Map<Integer, FdTable> collect(Map<Integer, FdTable> tables) {
        Map<String, Source> fifos = new LinkedHashMap<>();
        tables.forEach((pid, table) -> {
            for (FdEntry fd : table.getFdsList()) {
                if (fd.getKind() != FdKind.FD_FIFO) continue;
                String key = fd.getDev() + ":" + fd.getInode();
                boolean readable = (fd.getFlags() & 3) != Files.O_WRONLY;
                Source known = fifos.get(key);
                if (known == null) fifos.put(key, new Source(pid, fd, pid, fd.getFd(), readable));
                else if (!known.readable() && readable) fifos.put(key, new Source(known.listedUnder(), known.entry(), pid, fd.getFd(), true));
            }
        });
        if (fifos.isEmpty()) return tables;
        Map<Integer, FdTable> out = new LinkedHashMap<>(tables);
        for (Source s : fifos.values()) {
            FdEntry fd = s.entry();
            int ours = s.readable() ? copyOf(s.pid(), s.fd())
                    : Files.open(fd.getPath(), Files.O_RDWR | Pipes.O_NONBLOCK | Files.O_CLOEXEC);
            try {
                FifoContents contents = FifoContents.newBuilder().setDev(fd.getDev()).setInode(fd.getInode())
                        .setPath(fd.getPath()).setCapacity(Pipes.capacity(ours))
                        .setData(ByteString.copyFrom(Pipes.peek(ours))).build();
                out.put(s.listedUnder(), out.get(s.listedUnder()).toBuilder().addFifos(contents).build());
            } finally {
                Files.closeQuietly(ours);
            }
        }
        return out;
    }

    private static int copyOf(int pid, int fd) {
        int pidfd = PidFd.open(pid);
        try {
            return PidFd.getFd(pidfd, fd);
        } finally {
            Files.closeQuietly(pidfd);
        }
    }
}
