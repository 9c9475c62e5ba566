package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.TcpConnState;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.InetSockets;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Sockets;
import io.jmigrate.engine.sys.SyscallNumbers;
import io.jmigrate.engine.sys.TcpRepair;

import java.util.ArrayList;
import java.util.List;

/**
 * Recreates established TCP connections ({@link FdKind#FD_TCP_CONN}) inside the restored process with TCP repair:
 * the socket is created there by an injected socket(2); everything else is done from here on our pidfd_getfd copy
 * of it (the same socket): repair mode, sequence numbers, SO_REUSEADDR, bind to the dumped local address, connect
 * to the peer (in repair mode no SYN is sent), MSS, window scales, SACK and timestamps, the window, the queue
 * contents (they go into the queues, nothing goes on the wire), the timestamp, and repair mode off. Then it is
 * duplicated to its fd number with its flags. Restored after every other fd of the process, so a listener on the
 * same port is already bound (SO_REUSEADDR with repair lets the connection share its port, as CRIU does).
 */
final class TcpConnRestorer {
    private static final int FCNTL = 72, F_DUPFD = 0, F_SETFL = 4, O_CLOEXEC = 02000000, O_NONBLOCK = 04000;

    private TcpConnRestorer() {}

    static boolean handles(FdEntry fd) {
        return fd.getKind() == FdKind.FD_TCP_CONN;
    }

    static void verify(FdTable fds) {
        for (FdEntry fd : fds.getFdsList()) {
            if (!handles(fd)) continue;
            TcpConnState s = fd.getTcpConn();
            if (!fd.hasTcpConn() || (s.getFamily() != Sockets.AF_INET && s.getFamily() != Sockets.AF_INET6)
                    || s.getLocal().size() < 16 || s.getPeer().size() < 16 || s.getMss() == 0) {
                throw new RestoreException("fd " + fd.getFd() + ": no usable TCP connection state for " + fd.getPath()
                        + " in the images");
            }
        }
    }

    /** Restores every connection of {@code fds}; call once the other fds are in place. */
    static void restoreAll(Puppet puppet, FdTable fds, int above) {
        List<FdEntry> done = new ArrayList<>();
        for (FdEntry fd : fds.getFdsList()) {
            if (!handles(fd)) continue;
            FdEntry first = done.stream().filter(e -> e.getInode() == fd.getInode()).findFirst().orElse(null);
            if (first != null) {                         // a dup of a connection restored already
                puppet.call("dup3 socket to fd " + fd.getFd(), SyscallNumbers.DUP3, first.getFd(), fd.getFd(),
                        fd.getFlags() & O_CLOEXEC);
            } else {
                restore(puppet, fd, above);
                done.add(fd);
            }
        }
    }

    private static void restore(Puppet puppet, FdEntry fd, int above) {
        TcpConnState s = fd.getTcpConn();
        byte[] local = s.getLocal().toByteArray(), peer = s.getPeer().toByteArray();
        String what = "fd " + fd.getFd() + " (TCP connection " + InetSockets.describe(local) + " to "
                + InetSockets.describe(peer) + ")";
        puppet.resetScratch();
        long sock = puppet.call("socket(" + Sockets.familyName(s.getFamily()) + ", SOCK_STREAM) for " + what,
                Sockets.SYS_SOCKET, s.getFamily(), Sockets.SOCK_STREAM, Sockets.IPPROTO_TCP);
        long high = puppet.call("fcntl(F_DUPFD)", FCNTL, sock, F_DUPFD, above);
        puppet.call("close", SyscallNumbers.CLOSE, sock);
        int pidfd = -1, copy = -1;
        try {
            pidfd = PidFd.open(puppet.pid);
            copy = PidFd.getFd(pidfd, (int) high);
            repair(copy, s, what);
        } catch (RuntimeException e) {
            puppet.call("close", SyscallNumbers.CLOSE, high);
            if (e instanceof RestoreException r) throw r;
            throw new RestoreException(what + ": TCP repair failed: " + e.getMessage());
        } finally {
            Files.closeQuietly(copy);
            Files.closeQuietly(pidfd);
        }
        puppet.call("dup3 socket to fd " + fd.getFd(), SyscallNumbers.DUP3, high, fd.getFd(), fd.getFlags() & O_CLOEXEC);
        puppet.call("close", SyscallNumbers.CLOSE, high);
        puppet.call("fcntl(F_SETFL) fd " + fd.getFd(), FCNTL, fd.getFd(), F_SETFL, fd.getFlags() & O_NONBLOCK);
    }

    private static void repair(int copy, TcpConnState s, String what) {
        byte[] inq = s.getInq().toByteArray(), outq = s.getOutq().toByteArray();
        // SO_REUSEADDR first: repair mode then upgrades it to a forced reuse (SK_FORCE_REUSE) that lets the bind
        // share the port of a listener; setting SO_REUSEADDR after repair mode would undo that.
        Sockets.setInt(copy, Sockets.SOL_SOCKET, InetSockets.SO_REUSEADDR, 1);
        TcpRepair.repair(copy, true);
        TcpRepair.selectQueue(copy, TcpRepair.TCP_RECV_QUEUE);
        TcpRepair.setQueueSeq(copy, s.getInqSeq() - inq.length);
        TcpRepair.selectQueue(copy, TcpRepair.TCP_SEND_QUEUE);
        TcpRepair.setQueueSeq(copy, s.getOutqSeq() - outq.length);
        TcpRepair.selectQueue(copy, TcpRepair.TCP_NO_QUEUE);
        if (s.getFamily() == Sockets.AF_INET6) {
            Sockets.setInt(copy, InetSockets.IPPROTO_IPV6, InetSockets.IPV6_V6ONLY, s.getV6Only() ? 1 : 0);
        }
        try {
            TcpRepair.bind(copy, s.getLocal().toByteArray());
        } catch (ErrnoException e) {
            if (e.is(InetSockets.EADDRINUSE)) {
                throw new RestoreException(what + ": the address " + InetSockets.describe(s.getLocal().toByteArray())
                        + " is in use by another connection now (the old one is not gone yet?); restore again later");
            }
            throw e;
        }
        TcpRepair.connect(copy, s.getPeer().toByteArray());
        List<Integer> opts = new ArrayList<>(List.of(TcpRepair.TCPOPT_MSS, s.getMss()));
        if ((s.getOptions() & TcpRepair.TCPI_OPT_WSCALE) != 0) {
            opts.addAll(List.of(TcpRepair.TCPOPT_WINDOW, s.getSndWscale() | (s.getRcvWscale() << 16)));
        }
        if ((s.getOptions() & TcpRepair.TCPI_OPT_SACK) != 0) opts.addAll(List.of(TcpRepair.TCPOPT_SACK_PERM, 0));
        if ((s.getOptions() & TcpRepair.TCPI_OPT_TIMESTAMPS) != 0) opts.addAll(List.of(TcpRepair.TCPOPT_TIMESTAMP, 0));
        TcpRepair.setOptions(copy, opts.stream().mapToInt(Integer::intValue).toArray());
        TcpRepair.selectQueue(copy, TcpRepair.TCP_SEND_QUEUE);
        TcpRepair.fill(copy, outq);
        TcpRepair.selectQueue(copy, TcpRepair.TCP_RECV_QUEUE);
        TcpRepair.fill(copy, inq);
        TcpRepair.selectQueue(copy, TcpRepair.TCP_NO_QUEUE);
        // the window after the queues: its rcv_wup may not lie beyond rcv_nxt, which the receive queue advances
        TcpRepair.setWindow(copy, new TcpRepair.Window(s.getSndWl1(), s.getSndWnd(), s.getMaxWindow(), s.getRcvWnd(),
                s.getRcvWup()));
        if ((s.getOptions() & TcpRepair.TCPI_OPT_TIMESTAMPS) != 0) TcpRepair.setTimestamp(copy, s.getTimestamp());
        TcpRepair.repair(copy, false);
    }
}
