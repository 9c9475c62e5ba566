package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.TcpListenState;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.InetSockets;
import io.jmigrate.engine.sys.Sockets;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Recreates listening TCP sockets ({@link FdKind#FD_TCP_LISTEN}) inside the restored process: socket, options,
 * bind to the dumped address and port, listen with the dumped backlog, moved above every dumped fd number and
 * duplicated to its fd with its flags. Another fd of the same socket (a dup) is duplicated from the first.
 */
final class TcpListenRestorer {
    private static final int FCNTL = 72, F_DUPFD = 0, F_SETFL = 4, O_CLOEXEC = 02000000, O_NONBLOCK = 04000;

    private TcpListenRestorer() {}

    static boolean handles(FdEntry fd) {
        return fd.getKind() == FdKind.FD_TCP_LISTEN;
    }

    /** Checks, before anything is created, that each listener has its state in the images. */
    static void verify(FdTable fds) {
        for (FdEntry fd : fds.getFdsList()) {
            if (!handles(fd)) continue;
            TcpListenState s = fd.getTcpListen();
            if (!fd.hasTcpListen() || (s.getFamily() != Sockets.AF_INET && s.getFamily() != Sockets.AF_INET6)
                    || s.getSockaddr().size() < 16) {
                throw new RestoreException("fd " + fd.getFd() + ": no usable listening-socket state for " + fd.getPath()
                        + " in the images");
            }
        }
    }

    static void restore(Puppet puppet, FdTable fds, FdEntry fd, int above) {
        for (FdEntry e : fds.getFdsList()) {            // a dup of a socket an earlier fd already restored
            if (e == fd) break;
            if (handles(e) && e.getInode() == fd.getInode()) {
                puppet.call("dup3 socket to fd " + fd.getFd(), SyscallNumbers.DUP3, e.getFd(), fd.getFd(),
                        fd.getFlags() & O_CLOEXEC);
                return;
            }
        }
        TcpListenState s = fd.getTcpListen();
        byte[] addr = s.getSockaddr().toByteArray();
        String where = InetSockets.describe(addr);
        String what = "fd " + fd.getFd() + " (TCP listening on " + where + ")";
        puppet.resetScratch();
        long sock = puppet.call("socket(" + Sockets.familyName(s.getFamily()) + ", SOCK_STREAM) for " + what,
                Sockets.SYS_SOCKET, s.getFamily(), Sockets.SOCK_STREAM, Sockets.IPPROTO_TCP);
        long high = puppet.call("fcntl(F_DUPFD)", FCNTL, sock, F_DUPFD, above);
        puppet.call("close", SyscallNumbers.CLOSE, sock);
        long one = puppet.put(intBytes(1));
        if (s.getReuseaddr()) setsockopt(puppet, high, Sockets.SOL_SOCKET, InetSockets.SO_REUSEADDR, one, what);
        if (s.getReuseport()) setsockopt(puppet, high, Sockets.SOL_SOCKET, InetSockets.SO_REUSEPORT, one, what);
        if (s.getFamily() == Sockets.AF_INET6) {
            long v6only = puppet.put(intBytes(s.getV6Only() ? 1 : 0));
            setsockopt(puppet, high, InetSockets.IPPROTO_IPV6, InetSockets.IPV6_V6ONLY, v6only, what);
        }
        long sockaddr = puppet.put(addr);
        try {
            puppet.call("bind " + what, InetSockets.SYS_BIND, high, sockaddr, addr.length);
        } catch (ErrnoException e) {
            puppet.call("close", SyscallNumbers.CLOSE, high);
            if (e.is(InetSockets.EADDRINUSE)) {
                throw new RestoreException(what + ": the address " + where + " is in use by another socket now;"
                        + " free it and restore again");
            }
            if (e.is(InetSockets.EADDRNOTAVAIL)) {
                throw new RestoreException(what + ": the address " + where + " is not available on this host");
            }
            throw new RestoreException(what + ": cannot bind to " + where + ": " + e.getMessage());
        }
        puppet.call("listen " + what, InetSockets.SYS_LISTEN, high, s.getBacklog());
        puppet.call("dup3 socket to fd " + fd.getFd(), SyscallNumbers.DUP3, high, fd.getFd(), fd.getFlags() & O_CLOEXEC);
        puppet.call("close", SyscallNumbers.CLOSE, high);
        puppet.call("fcntl(F_SETFL) fd " + fd.getFd(), FCNTL, fd.getFd(), F_SETFL, fd.getFlags() & O_NONBLOCK);
    }

    private static void setsockopt(Puppet puppet, long sock, int level, int option, long value, String what) {
        puppet.call("setsockopt(" + level + ", " + option + ") for " + what, Sockets.SYS_SETSOCKOPT, sock, level, option,
                value, 4, 0);
    }

    private static byte[] intBytes(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
