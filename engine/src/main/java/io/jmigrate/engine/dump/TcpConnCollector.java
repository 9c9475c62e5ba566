package io.jmigrate.engine.dump;

import com.google.protobuf.ByteString;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.TcpConnState;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.InetSockets;
import io.jmigrate.engine.sys.Sockets;
import io.jmigrate.engine.sys.TcpRepair;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Describes established TCP connections (AF_INET/AF_INET6) with the kernel's TCP repair mode, as CRIU does. While
 * the process is frozen our pidfd_getfd copy of the socket is put in repair mode and its sequence numbers, queue
 * contents, MSS, window scales, options, window and timestamp are read. The copy stays open and in repair mode
 * until the dump ends: when the dumped process is killed, a socket in repair mode is closed without FIN or RST,
 * so the peer sees nothing; when the process is resumed (--leave-running, or a failed dump) repair mode is turned
 * off again first. Before the freeze (rehearsal) only the state is checked.
 *
 * <p>No network lock: between the kill and the restore there is no socket for the connection, so a segment the
 * peer sends then is answered with RST by the kernel and the connection is lost. The peer must stay idle in
 * that window (CRIU drops such packets with a firewall rule; we do not yet).
 */
final class TcpConnCollector {
    /** Our copies of connections in repair mode, held from the collection until the dump kills or resumes. */
    private static final ThreadLocal<List<Integer>> HELD = ThreadLocal.withInitial(ArrayList::new);

    private TcpConnCollector() {}

    /**
     * The entry for an established connection whose copy is {@code copy}. When {@code frozen}, the copy is put in
     * repair mode and kept (the caller must not close it): {@link #release} closes it.
     */
    static FdEntry describe(ProcFs procfs, int pid, int fd, String target, long inode, int copy, int family,
                            boolean frozen) {
        byte[] local = InetSockets.sockName(copy);
        byte[] peer = TcpRepair.peerName(copy);
        TcpConnState.Builder s = TcpConnState.newBuilder().setFamily(family).setLocal(ByteString.copyFrom(local))
                .setPeer(ByteString.copyFrom(peer));
        if (family == Sockets.AF_INET6) {
            s.setV6Only(Sockets.getInt(copy, InetSockets.IPPROTO_IPV6, InetSockets.IPV6_V6ONLY) != 0);
        }
        if (frozen) {
            TcpRepair.repair(copy, true);
            HELD.get().add(copy);                       // from here on released (repair off) if the dump fails
            TcpRepair.Info info = TcpRepair.info(copy);
            if (info.state() != InetSockets.TCP_ESTABLISHED) {
                throw new DumpRefusedException("fd " + fd + " of PID " + pid + " is a TCP connection (" + target + ", "
                        + InetSockets.describe(local) + " to " + InetSockets.describe(peer) + ") that left state"
                        + " ESTABLISHED (now " + InetSockets.stateName(info.state()) + "); try again");
            }
            int inqLen = TcpRepair.inq(copy), outqLen = TcpRepair.outq(copy);
            TcpRepair.selectQueue(copy, TcpRepair.TCP_RECV_QUEUE);
            int inqSeq = TcpRepair.queueSeq(copy);
            byte[] inq = TcpRepair.peek(copy, inqLen);
            TcpRepair.selectQueue(copy, TcpRepair.TCP_SEND_QUEUE);
            int outqSeq = TcpRepair.queueSeq(copy);
            byte[] outq = TcpRepair.peek(copy, outqLen);
            TcpRepair.selectQueue(copy, TcpRepair.TCP_NO_QUEUE);
            if (inq.length != inqLen || outq.length != outqLen) {
                throw new DumpRefusedException("fd " + fd + " of PID " + pid + ": the queues of the TCP connection "
                        + InetSockets.describe(local) + " to " + InetSockets.describe(peer) + " could not be read whole"
                        + " (receive " + inq.length + " of " + inqLen + ", send " + outq.length + " of " + outqLen
                        + " bytes)");
            }
            TcpRepair.Window w = TcpRepair.window(copy);
            s.setInqSeq(inqSeq).setOutqSeq(outqSeq).setInq(ByteString.copyFrom(inq)).setOutq(ByteString.copyFrom(outq))
                    .setMss(TcpRepair.mss(copy)).setOptions(info.options()).setSndWscale(info.sndWscale())
                    .setRcvWscale(info.rcvWscale()).setSndWl1(w.sndWl1()).setSndWnd(w.sndWnd())
                    .setMaxWindow(w.maxWindow()).setRcvWnd(w.rcvWnd()).setRcvWup(w.rcvWup())
                    .setTimestamp(TcpRepair.timestamp(copy));
        }
        return FdEntry.newBuilder().setFd(fd).setKind(FdKind.FD_TCP_CONN).setPath(target)
                .setFlags(procfs.fdInfo(pid, fd).flags()).setInode(inode).setTcpConn(s).build();
    }

    /** Forgets copies a previous dump on this thread may have left (none normally). */
    static void begin() {
        HELD.get().clear();
    }

    /**
     * Closes the copies held in repair mode. {@code repairOff}: the process runs on, so repair mode is turned off
     * first (the connection carries on); otherwise the process was killed and the sockets vanish silently.
     */
    static void release(boolean repairOff, List<RuntimeException> failures) {
        List<Integer> held = HELD.get();
        for (int copy : held) {
            if (repairOff) {
                try {
                    TcpRepair.repair(copy, false);
                } catch (RuntimeException e) {
                    failures.add(e);
                }
            }
            Files.closeQuietly(copy);
        }
        held.clear();
    }

    /** Refuses connections held by several processes of the tree and connections with both ends in the tree. */
    static void checkAcrossTree(Map<Integer, FdTable> tables) {
        Map<Long, int[]> holders = new HashMap<>();
        Map<ByteString, int[]> locals = new HashMap<>();
        tables.forEach((pid, table) -> {
            for (FdEntry fd : table.getFdsList()) {
                if (fd.getKind() != FdKind.FD_TCP_CONN) continue;
                int[] first = holders.putIfAbsent(fd.getInode(), new int[]{pid, fd.getFd()});
                if (first != null && first[0] != pid) {
                    throw new DumpRefusedException("fd " + fd.getFd() + " of PID " + pid + " is a TCP connection ("
                            + describe(fd) + ", " + fd.getPath() + ") that PID " + first[0] + " holds too (fd "
                            + first[1] + "); TCP connections shared between processes are not supported yet");
                }
                locals.putIfAbsent(fd.getTcpConn().getLocal(), new int[]{pid, fd.getFd()});
            }
        });
        tables.forEach((pid, table) -> {
            for (FdEntry fd : table.getFdsList()) {
                if (fd.getKind() != FdKind.FD_TCP_CONN) continue;
                int[] other = locals.get(fd.getTcpConn().getPeer());
                if (other != null) {
                    throw new DumpRefusedException("fd " + fd.getFd() + " of PID " + pid + " is a TCP connection ("
                            + describe(fd) + ", " + fd.getPath() + ") whose other end is fd " + other[1] + " of PID "
                            + other[0] + "; TCP connections with both ends in the dumped tree are not supported yet");
                }
            }
        });
    }

    private static String describe(FdEntry fd) {
        return InetSockets.describe(fd.getTcpConn().getLocal().toByteArray()) + " to "
                + InetSockets.describe(fd.getTcpConn().getPeer().toByteArray());
    }
}
