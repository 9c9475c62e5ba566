package io.jmigrate.engine.dump;

import com.google.protobuf.ByteString;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.UnixSocketState;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Sockets;
import io.jmigrate.engine.sys.UnixDiag;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Describes the process's sockets. Supported: ends of connected pairs of unnamed unix sockets (socketpair(2), any
 * of SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET) whose other end is held in the dumped tree (by this process or
 * another), with what is queued on each.
 * Each socket is inspected through a pidfd_getfd copy of one of its descriptors (the same socket, shared with
 * the process) and through sock_diag, which tells its type, state, bound name and peer.
 */
final class UnixSocketCollector implements AutoCloseable {
    /** One socket the process holds: its first fd, our copy of it, and what sock_diag said. */
    private record Held(int fd, int copy, UnixDiag.Info info) {}

    private final int pid;
    private final boolean readQueues;
    private final Map<Long, Held> sockets = new LinkedHashMap<>();
    /** Listening sockets: their name, backlog and socket file (see {@link UnixListeners}). */
    private final Map<Long, UnixSocketState> listeners = new HashMap<>();
    private int pidfd = -1;
    private UnixDiag diag;

    /**
     * @param readQueues peek at the receive queues: only while the process is frozen, since walking a queue
     *                   moves the socket's SO_PEEK_OFF for a moment
     */
    UnixSocketCollector(int pid, boolean readQueues) {
        this.pid = pid;
        this.readQueues = readQueues;
    }

    /** The entry for {@code fd}, whose target is "socket:[INO]"; refuses every socket but a unix pair's end. */
    FdEntry describe(ProcFs procfs, int fd, String target) {
        long inode = Long.parseLong(target.substring("socket:[".length(), target.length() - 1));
        String which = "fd " + fd + " of PID " + pid;
        FdEntry entry = FdEntry.newBuilder().setFd(fd).setKind(FdKind.FD_UNIX_SOCKET).setPath(target)
                .setFlags(procfs.fdInfo(pid, fd).flags()).setInode(inode).build();
        if (sockets.containsKey(inode)) return entry;                  // another descriptor of the same socket
        if (pidfd < 0) pidfd = PidFd.open(pid);
        int copy = PidFd.getFd(pidfd, fd);
        try {
            int family = Sockets.getInt(copy, Sockets.SOL_SOCKET, Sockets.SO_DOMAIN);
            if (family != Sockets.AF_UNIX) throw refuse(which, notUnix(copy, family, target));
            if (diag == null) diag = new UnixDiag();
            UnixDiag.Info info = diag.query(inode);
            if (info == null) {
                throw refuse(which, "is the unix socket " + target + ", which sock_diag cannot find (in another network"
                        + " namespace?); sockets of other network namespaces are not supported yet");
            }
            String kind = "a unix " + Sockets.typeName(info.type()) + " socket (" + target + ")";
            if (info.state() == UnixDiag.TCP_LISTEN) {
                if (info.rqueue() != 0) {
                    throw refuse(which, "is " + kind + " listening on " + describeName(info.name()) + " with "
                            + info.rqueue() + " connection(s) waiting to be accepted; only listeners with an empty"
                            + " accept queue are supported");
                }
                if (info.name() == null) throw refuse(which, "is " + kind + " listening without a name");
                listeners.put(inode, UnixListeners.describe(procfs, pid, which, kind, info));
                sockets.put(inode, new Held(fd, copy, info));
                copy = -1;
                return entry;
            }
            if (info.name() != null && info.peer() == 0 && info.type() == Sockets.SOCK_DGRAM) {
                // a datagram server: bound again at restore, its queue refilled (the senders' addresses are lost)
                listeners.put(inode, UnixListeners.describe(procfs, pid, which, kind, info).toBuilder().setListening(false).build());
                sockets.put(inode, new Held(fd, copy, info));
                copy = -1;
                return entry;
            }
            if (info.name() != null && info.peer() == 0) {
                throw refuse(which, "is " + kind + " bound to " + describeName(info.name()) + " with no peer (never"
                        + " connected, or its peer was closed); named unix sockets are supported only listening or connected");
            }
            if (info.peer() == 0) {
                throw refuse(which, "is " + kind + " with no peer (never connected, or its peer was closed); only"
                        + " connected unix socket pairs are supported");
            }
            sockets.put(inode, new Held(fd, copy, info));
            copy = -1;
        } finally {
            Files.closeQuietly(copy);
        }
        return entry;
    }

    /**
     * Adds each socket's state and queued data to the table. Whether each socket's peer is held inside the
     * dumped tree is checked tree-wide, by {@link #acrossTree}.
     */
    void addStates(FdTable.Builder table) {
        for (Map.Entry<Long, Held> e : sockets.entrySet()) {
            Held s = e.getValue();
            Held peer = sockets.get(s.info().peer());           // null when another process holds the peer
            UnixSocketState.Builder state = UnixSocketState.newBuilder().setInode(e.getKey())
                    .setPeerInode(s.info().peer()).setType(s.info().type()).setShutdown(s.info().shutdown())
                    .setSndbuf(Sockets.getInt(s.copy(), Sockets.SOL_SOCKET, Sockets.SO_SNDBUF))
                    .setRcvbuf(Sockets.getInt(s.copy(), Sockets.SOL_SOCKET, Sockets.SO_RCVBUF));
            state.setPeekOffset(Sockets.getInt(s.copy(), Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF));
            UnixSocketState listener = listeners.get(e.getKey());
            if (listener != null) state.mergeFrom(listener);
            if (readQueues && (listener == null || !listener.getListening())) addQueue(s, peer, state);
            table.addUnixSockets(state);
        }
    }

    /**
     * Checks across the tree that the peer of every socket is held by a process of the tree too, and keeps each
     * socket's state once, in the table of the first process holding it.
     */
    static Map<Integer, FdTable> acrossTree(Map<Integer, FdTable> tables) {
        Map<Long, int[]> holders = new HashMap<>();                    // inode -> {pid, fd} of its first holder
        tables.forEach((pid, table) -> {
            for (FdEntry fd : table.getFdsList()) {
                if (fd.getKind() == FdKind.FD_UNIX_SOCKET) holders.putIfAbsent(fd.getInode(), new int[]{pid, fd.getFd()});
            }
        });
        Map<Long, UnixSocketState> states = new HashMap<>();
        tables.values().forEach(t -> t.getUnixSocketsList().forEach(s -> states.putIfAbsent(s.getInode(), s)));
        for (UnixSocketState s : states.values()) {
            if (s.getPeerInode() == 0) continue;      // a listener or a bound datagram socket: no peer, bound again
            UnixSocketState peer = states.get(s.getPeerInode());
            if (peer == null || peer.getPeerInode() != s.getInode()) {
                int[] held = holders.get(s.getInode());
                throw refuse("fd " + held[1] + " of PID " + held[0], "is one end of a unix socket pair (socket:["
                        + s.getInode() + "]) whose other end (socket:[" + s.getPeerInode() + "]) belongs to a process"
                        + " outside the dumped tree; unix sockets to outside processes are not supported yet");
            }
        }
        Map<Integer, FdTable> once = new LinkedHashMap<>();
        tables.forEach((pid, table) -> {
            List<UnixSocketState> mine = table.getUnixSocketsList().stream()
                    .filter(s -> holders.get(s.getInode())[0] == pid).toList();
            once.put(pid, table.toBuilder().clearUnixSockets().addAllUnixSockets(mine).build());
        });
        return once;
    }

    private void addQueue(Held s, Held peer, UnixSocketState.Builder state) {
        String which = "fd " + s.fd() + " of PID " + pid;
        String socket = "socket:[" + s.info().inode() + "]";
        int type = s.info().type();
        int maxMessage = Sockets.getInt(peer != null ? peer.copy() : s.copy(), Sockets.SOL_SOCKET, Sockets.SO_SNDBUF);
        Sockets.Queue queue = Sockets.peekQueue(s.copy(), type, (s.info().shutdown() & UnixDiag.RCV_SHUTDOWN) != 0,
                maxMessage);
        if (queue.passesFds()) {
            throw refuse(which, "is a unix socket (" + socket + ") with file descriptors in flight (SCM_RIGHTS);"
                    + " passing descriptors is not supported yet");
        }
        if (queue.urgentMark()) {
            throw refuse(which, "is a unix socket (" + socket + ") with urgent (MSG_OOB) data queued; out-of-band data"
                    + " is not supported yet");
        }
        // sock_diag's count, taken in the same freeze, must match what the peek saw: all bytes for a stream or
        // seqpacket socket, the first datagram's length for a datagram socket.
        long expected = s.info().rqueue();
        long seen = type == Sockets.SOCK_DGRAM
                ? (queue.messages().isEmpty() ? 0 : queue.messages().getFirst().length) : queue.bytes();
        if (seen != expected) {
            throw refuse(which, "is a unix socket (" + socket + ") whose receive queue could not be read consistently ("
                    + expected + " bytes queued, " + seen + " read)");
        }
        if (type == Sockets.SOCK_STREAM) {
            if (!queue.messages().isEmpty()) state.setQueuedStream(ByteString.copyFrom(queue.messages().getFirst()));
        } else {
            for (byte[] m : queue.messages()) state.addQueuedMessages(ByteString.copyFrom(m));
        }
    }

    private static String notUnix(int copy, int family, String target) {
        if (family == Sockets.AF_INET || family == Sockets.AF_INET6) {
            int type = Sockets.getInt(copy, Sockets.SOL_SOCKET, Sockets.SO_TYPE);
            int protocol = Sockets.getInt(copy, Sockets.SOL_SOCKET, Sockets.SO_PROTOCOL);
            String what = protocol == Sockets.IPPROTO_TCP ? "a TCP" : protocol == Sockets.IPPROTO_UDP ? "a UDP"
                    : "an " + Sockets.familyName(family) + " " + Sockets.typeName(type);
            return "is " + what + " socket (" + target + ", " + Sockets.familyName(family)
                    + "); TCP/UDP sockets are not supported yet";
        }
        return "is an " + Sockets.familyName(family) + " socket (" + target + "); only unix socket pairs are supported";
    }

    static String describeName(String name) {
        return name == null ? "no name" : name.startsWith("@") ? "the abstract name " + name : name;
    }

    private static DumpRefusedException refuse(String which, String what) {
        return new DumpRefusedException(which + " " + what);
    }

    @Override
    public void close() {
        for (Held s : sockets.values()) Files.closeQuietly(s.copy());
        Files.closeQuietly(pidfd);
        if (diag != null) diag.close();
    }
}
