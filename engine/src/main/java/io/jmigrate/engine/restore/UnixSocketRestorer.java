package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.UnixSocketState;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.ProcessVm;
import io.jmigrate.engine.sys.Sockets;
import io.jmigrate.engine.sys.SyscallNumbers;
import io.jmigrate.engine.sys.UnixDiag;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Recreates the unix socket pairs of {@link FdKind#FD_UNIX_SOCKET} entries the way {@link PipeCarriers} recreates
 * pipes: every pair of the tree is made once, by socketpair in the root puppet before it forks the others, its
 * two ends placed at "carrier" descriptor numbers (one per socket, in the slots after the pipes'). Then, through
 * copies of the two ends in our process: buffer sizes set, each queue refilled by sending its bytes from the peer
 * end, shutdown state and peek offset put back. Each process inherits the carriers and dup3s the sockets it held
 * to their numbers; processes that shared a socket, or held the two ends of one pair, do so again.
 */
final class UnixSocketRestorer {
    private static final int FCNTL = 72, F_SETFL = 4, O_CLOEXEC = 02000000;
    /** Status flags F_SETFL can change on a socket. */
    private static final int STATUS_FLAGS = 02000 | 04000;            // O_APPEND O_NONBLOCK

    private final int base;
    private final Map<Long, UnixSocketState> states = new LinkedHashMap<>();
    private final Map<Long, Integer> index = new LinkedHashMap<>();

    private UnixSocketRestorer(int base) {
        this.base = base;
    }

    /** The sockets of the tree, with carriers from {@code base} on. */
    static UnixSocketRestorer plan(List<FdTable> tables, int base) {
        UnixSocketRestorer r = new UnixSocketRestorer(base);
        for (FdTable t : tables) t.getUnixSocketsList().forEach(s -> r.states.putIfAbsent(s.getInode(), s));
        for (FdTable t : tables) {
            for (FdEntry fd : t.getFdsList()) {
                if (fd.getKind() != FdKind.FD_UNIX_SOCKET) continue;
                UnixSocketState s = r.states.get(fd.getInode());
                if (s == null) continue;                                 // verify() has refused it already
                r.index.putIfAbsent(s.getInode(), r.index.size());
                if (s.getPeerInode() != 0) r.index.putIfAbsent(s.getPeerInode(), r.index.size());
            }
        }
        return r;
    }

    /** Checks, before anything is created, that each socket fd of the tree has its state and its peer in the images. */
    static void verify(List<FdTable> tables) {
        UnixSocketRestorer r = plan(tables, 0);
        for (FdTable t : tables) {
            for (FdEntry fd : t.getFdsList()) {
                if (fd.getKind() != FdKind.FD_UNIX_SOCKET) continue;
                UnixSocketState s = r.states.get(fd.getInode());
                if (s == null) throw new RestoreException("fd " + fd.getFd() + ": no state for " + fd.getPath() + " in the images");
                if (s.getPeerInode() == 0) {             // bound, with no peer: a listener or a datagram server
                    UnixListenerRestorer.verify(fd, s);
                    continue;
                }
                UnixSocketState peer = r.states.get(s.getPeerInode());
                if (peer == null || peer.getPeerInode() != s.getInode() || peer.getType() != s.getType()) {
                    throw new RestoreException("fd " + fd.getFd() + ": " + fd.getPath() + " has no matching peer (socket:["
                            + s.getPeerInode() + "]) in the images");
                }
            }
        }
    }

    /** How many carrier slots the sockets take. */
    int count() { return index.size(); }

    /** The carrier of socket {@code inode}. */
    int carrier(long inode) {
        Integer i = index.get(inode);
        if (i == null) throw new RestoreException("socket:[" + inode + "] is not in the images' socket list");
        return base + i;
    }

    /** Creates every pair in {@code root} at its carrier numbers, with buffer sizes, queued data and shutdown state. */
    void create(Puppet root) {
        if (index.isEmpty()) return;
        int pidfd = PidFd.open(root.pid);
        try {
            for (long inode : index.keySet()) {
                UnixSocketState a = states.get(inode);
                if (a.getPeerInode() == 0) {
                    UnixListenerRestorer.create(root, pidfd, a, carrier(inode));
                    continue;
                }
                if (index.get(a.getPeerInode()) < index.get(inode)) continue;      // made with its peer
                createPair(root, pidfd, a, states.get(a.getPeerInode()));
            }
        } finally {
            Files.closeQuietly(pidfd);
        }
    }

    private void createPair(Puppet root, int pidfd, UnixSocketState a, UnixSocketState b) {
        root.resetScratch();
        long pair = root.put(new byte[8]);
        root.call("socketpair(AF_UNIX, " + Sockets.typeName(a.getType()) + ") for socket:[" + a.getInode() + "]",
                Sockets.SYS_SOCKETPAIR, Sockets.AF_UNIX, a.getType(), 0, pair);
        ByteBuffer raw = ByteBuffer.wrap(ProcessVm.readBytes(root.pid, pair, 8)).order(ByteOrder.LITTLE_ENDIAN);
        UnixSocketState[] sides = {a, b};
        int[] ends = {raw.getInt(0), raw.getInt(4)};
        for (int i = 0; i < 2; i++) {
            int carrier = carrier(sides[i].getInode());
            root.call("dup3 socket to carrier " + carrier, SyscallNumbers.DUP3, ends[i], carrier, 0);
            root.call("close", SyscallNumbers.CLOSE, ends[i]);
            ends[i] = carrier;
        }
        int[] ours = {-1, -1};
        try {
            for (int i = 0; i < 2; i++) ours[i] = PidFd.getFd(pidfd, ends[i]);
            for (int i = 0; i < 2; i++) setBuffers(ours[i], sides[i]);
            for (int i = 0; i < 2; i++) refill(ours[1 - i], sides[i]);      // sent by the peer, queued on side i
            for (int i = 0; i < 2; i++) {
                int how = switch (sides[i].getShutdown() & (UnixDiag.RCV_SHUTDOWN | UnixDiag.SEND_SHUTDOWN)) {
                    case UnixDiag.RCV_SHUTDOWN -> Sockets.SHUT_RD;
                    case UnixDiag.SEND_SHUTDOWN -> Sockets.SHUT_WR;
                    case UnixDiag.RCV_SHUTDOWN | UnixDiag.SEND_SHUTDOWN -> Sockets.SHUT_RDWR;
                    default -> -1;
                };
                if (how >= 0) Sockets.shutdown(ours[i], how);
            }
            for (int i = 0; i < 2; i++) {
                if (sides[i].getPeekOffset() >= 0) {
                    Sockets.setInt(ours[i], Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF, sides[i].getPeekOffset());
                }
            }
        } finally {
            Files.closeQuietly(ours[0]);
            Files.closeQuietly(ours[1]);
        }
    }

    /** Puts the socket of {@code fd} at its number, from its carrier, with its fd and status flags. */
    void place(Puppet puppet, FdEntry fd) {
        puppet.call("dup3 socket to fd " + fd.getFd(), SyscallNumbers.DUP3, carrier(fd.getInode()), fd.getFd(),
                fd.getFlags() & O_CLOEXEC);
        // one open file per socket, shared by every fd and process holding it: setting it again is harmless
        puppet.call("fcntl(F_SETFL) fd " + fd.getFd(), FCNTL, fd.getFd(), F_SETFL, fd.getFlags() & STATUS_FLAGS);
    }

    /** SO_SNDBUF and SO_RCVBUF as dumped (getsockopt reports twice what was set); FORCE: we are privileged. */
    static void setBuffers(int sock, UnixSocketState s) {
        if (s.getSndbuf() != 0 && Sockets.getInt(sock, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF) != s.getSndbuf()) {
            Sockets.setInt(sock, Sockets.SOL_SOCKET, Sockets.SO_SNDBUFFORCE, s.getSndbuf() / 2);
        }
        if (s.getRcvbuf() != 0 && Sockets.getInt(sock, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF) != s.getRcvbuf()) {
            Sockets.setInt(sock, Sockets.SOL_SOCKET, Sockets.SO_RCVBUFFORCE, s.getRcvbuf() / 2);
        }
    }

    /** Sends what was queued on {@code s} from {@code peer}, its other end, so it is queued on {@code s} again. */
    private static void refill(int peer, UnixSocketState s) {
        String where = "the data queued on socket:[" + s.getInode() + "]";
        try {
            if (s.getType() == Sockets.SOCK_STREAM) {
                if (!s.getQueuedStream().isEmpty()) Sockets.sendAll(peer, s.getQueuedStream().toByteArray());
                return;
            }
            int i = 0;
            for (com.google.protobuf.ByteString m : s.getQueuedMessagesList()) {
                long sent = Sockets.send(peer, m.toByteArray(), Sockets.MSG_DONTWAIT | Sockets.MSG_NOSIGNAL);
                if (sent != m.size()) {
                    throw new RestoreException(where + ": message " + i + " of " + m.size() + " bytes was sent short ("
                            + sent + ")");
                }
                i++;
            }
        } catch (ErrnoException e) {
            if (e.is(Errno.EAGAIN)) {
                throw new RestoreException(where + " does not fit into it again (the sender's buffer is full): " + e.getMessage());
            }
            throw new RestoreException(where + " cannot be queued again: " + e.getMessage());
        }
    }
}
