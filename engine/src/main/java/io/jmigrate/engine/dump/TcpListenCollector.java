package io.jmigrate.engine.dump;

import com.google.protobuf.ByteString;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.TcpListenState;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.InetSockets;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Sockets;

import java.util.HashMap;
import java.util.Map;

/**
 * Describes AF_INET/AF_INET6 sockets. Supported: TCP sockets in state LISTEN with an empty accept queue (their
 * address, backlog, SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY and fd flags), and ESTABLISHED connections (see
 * {@link TcpConnCollector}). Every other inet socket is refused: TCP connections in other states, listeners with connections waiting to be accepted (those would
 * be lost), UDP and raw sockets. Each socket is inspected through a pidfd_getfd copy of its descriptor; the
 * accept-queue length and backlog come from TCP_INFO, which reports them for listeners.
 */
final class TcpListenCollector {
    private TcpListenCollector() {}

    /** The entry for {@code fd} ("socket:[INO]") if it is an AF_INET/AF_INET6 socket; null for other families. */
    static FdEntry describe(ProcFs procfs, int pid, int fd, String target, boolean frozen) {
        String which = "fd " + fd + " of PID " + pid;
        long inode = Long.parseLong(target.substring("socket:[".length(), target.length() - 1));
        int pidfd = PidFd.open(pid);
        int copy = -1;
        try {
            copy = PidFd.getFd(pidfd, fd);
            int family = Sockets.getInt(copy, Sockets.SOL_SOCKET, Sockets.SO_DOMAIN);
            if (family != Sockets.AF_INET && family != Sockets.AF_INET6) return null;
            String fam = Sockets.familyName(family);
            int type = Sockets.getInt(copy, Sockets.SOL_SOCKET, Sockets.SO_TYPE);
            int protocol = Sockets.getInt(copy, Sockets.SOL_SOCKET, Sockets.SO_PROTOCOL);
            if (protocol == Sockets.IPPROTO_UDP) {
                throw refuse(which, "is a UDP socket (" + target + ", " + fam + "); UDP sockets are not supported yet");
            }
            if (type != Sockets.SOCK_STREAM || protocol != Sockets.IPPROTO_TCP) {
                throw refuse(which, "is an " + fam + " " + Sockets.typeName(type) + " socket (" + target + ", protocol "
                        + protocol + "); only listening TCP sockets are supported");
            }
            InetSockets.TcpInfo info = InetSockets.tcpInfo(copy);
            if (info.state() == InetSockets.TCP_ESTABLISHED) {
                FdEntry conn = TcpConnCollector.describe(procfs, pid, fd, target, inode, copy, family, frozen);
                if (frozen) copy = -1;                  // held in repair mode until the dump ends
                return conn;
            }
            byte[] name = InetSockets.sockName(copy);
            String where = InetSockets.describe(name);
            if (info.state() != InetSockets.TCP_LISTEN) {
                if (info.state() == InetSockets.TCP_CLOSE) {
                    throw refuse(which, "is a TCP socket (" + target + ", " + fam + ") that is neither listening nor"
                            + " connected (state CLOSE); only listening TCP sockets are supported");
                }
                throw refuse(which, "is a TCP connection (" + target + ", " + where + ", state "
                        + InetSockets.stateName(info.state()) + "); only connections in state ESTABLISHED are"
                        + " supported (TCP repair): connections being opened or closed are not");
            }
            if (info.acceptQueue() > 0) {
                throw refuse(which, "is a TCP socket listening on " + where + " (" + target + ") with "
                        + info.acceptQueue() + " connection(s) waiting to be accepted; they would be lost: accept"
                        + " them first");
            }
            TcpListenState.Builder state = TcpListenState.newBuilder().setFamily(family)
                    .setSockaddr(ByteString.copyFrom(name)).setBacklog((int) info.maxBacklog())
                    .setReuseaddr(Sockets.getInt(copy, Sockets.SOL_SOCKET, InetSockets.SO_REUSEADDR) != 0)
                    .setReuseport(Sockets.getInt(copy, Sockets.SOL_SOCKET, InetSockets.SO_REUSEPORT) != 0);
            if (family == Sockets.AF_INET6) {
                state.setV6Only(Sockets.getInt(copy, InetSockets.IPPROTO_IPV6, InetSockets.IPV6_V6ONLY) != 0);
            }
            return FdEntry.newBuilder().setFd(fd).setKind(FdKind.FD_TCP_LISTEN).setPath(target)
                    .setFlags(procfs.fdInfo(pid, fd).flags()).setInode(inode).setTcpListen(state).build();
        } finally {
            Files.closeQuietly(copy);
            Files.closeQuietly(pidfd);
        }
    }

    /** Refuses a listening socket held by more than one process of the tree (each would bind it anew). */
    static void checkNotShared(Map<Integer, FdTable> tables) {
        Map<Long, int[]> holders = new HashMap<>();
        tables.forEach((pid, table) -> {
            for (FdEntry fd : table.getFdsList()) {
                if (fd.getKind() != FdKind.FD_TCP_LISTEN) continue;
                int[] first = holders.putIfAbsent(fd.getInode(), new int[]{pid, fd.getFd()});
                if (first != null && first[0] != pid) {
                    throw refuse("fd " + fd.getFd() + " of PID " + pid, "is a TCP socket listening on "
                            + InetSockets.describe(fd.getTcpListen().getSockaddr().toByteArray()) + " (" + fd.getPath()
                            + ") that PID " + first[0] + " holds too (fd " + first[1] + "); listening sockets shared"
                            + " between processes are not supported yet");
                }
            }
        });
    }

    private static DumpRefusedException refuse(String which, String what) {
        return new DumpRefusedException(which + " " + what);
    }
}
