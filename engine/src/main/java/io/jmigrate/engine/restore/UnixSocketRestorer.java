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
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Recreates the unix socket pairs of {@link FdKind#FD_UNIX_SOCKET} entries: socketpair in the puppet, both
 * ends moved above every dumped fd number, duplicated to each fd that held them; then, through copies of the
 * two ends in our process, buffer sizes set, each queue refilled by sending its bytes from the peer end,
 * shutdown state and peek offset put back.
 */
final class UnixSocketRestorer {
    private static final int FCNTL = 72, F_DUPFD = 0, F_SETFL = 4, O_CLOEXEC = 02000000;
    /** Status flags F_SETFL can change on a socket. */
    private static final int STATUS_FLAGS = 02000 | 04000;            // O_APPEND O_NONBLOCK

    private final Map<Long, UnixSocketState> states = new HashMap<>();
    private final Set<Long> done = new HashSet<>();
    private final FdTable fds;

    UnixSocketRestorer(FdTable fds) {
        this.fds = fds;
        for (UnixSocketState s : fds.getUnixSocketsList()) states.put(s.getInode(), s);
    }

    /** Checks, before anything is created, that each socket fd has its state and its peer in the images. */
    static void verify(FdTable fds) {
        UnixSocketRestorer r = new UnixSocketRestorer(fds);
        for (FdEntry fd : fds.getFdsList()) {
            if (fd.getKind() != FdKind.FD_UNIX_SOCKET) continue;
            UnixSocketState s = r.states.get(fd.getInode());
            if (s == null) throw new RestoreException("fd " + fd.getFd() + ": no state for " + fd.getPath() + " in the images");
            UnixSocketState peer = r.states.get(s.getPeerInode());
            if (peer == null || peer.getPeerInode() != s.getInode() || peer.getType() != s.getType()) {
                throw new RestoreException("fd " + fd.getFd() + ": " + fd.getPath() + " has no matching peer (socket:["
                        + s.getPeerInode() + "]) in the images");
            }
        }
    }

    /** Recreates the pair {@code fd} belongs to, unless an earlier fd of it did already. */
    void restore(Puppet puppet, FdEntry fd, int above) {
        if (done.contains(fd.getInode())) return;
        UnixSocketState a = states.get(fd.getInode());
        UnixSocketState b = states.get(a.getPeerInode());
        done.add(a.getInode());
        done.add(b.getInode());

        puppet.resetScratch();
        long pair = puppet.put(new byte[8]);
        puppet.call("socketpair(AF_UNIX, " + Sockets.typeName(a.getType()) + ") for " + fd.getPath(),
                Sockets.SYS_SOCKETPAIR, Sockets.AF_UNIX, a.getType(), 0, pair);
        ByteBuffer raw = ByteBuffer.wrap(ProcessVm.readBytes(puppet.pid, pair, 8)).order(ByteOrder.LITTLE_ENDIAN);
        int[] ends = {raw.getInt(0), raw.getInt(4)};
        for (int i = 0; i < 2; i++) {
            int high = (int) puppet.call("fcntl(F_DUPFD)", FCNTL, ends[i], F_DUPFD, above);
            puppet.call("close", SyscallNumbers.CLOSE, ends[i]);
            ends[i] = high;
        }
        UnixSocketState[] sides = {a, b};
        for (int i = 0; i < 2; i++) {
            boolean flagsSet = false;
            for (FdEntry e : fds.getFdsList()) {
                if (e.getKind() != FdKind.FD_UNIX_SOCKET || e.getInode() != sides[i].getInode()) continue;
                puppet.call("dup3 socket to fd " + e.getFd(), SyscallNumbers.DUP3, ends[i], e.getFd(),
                        e.getFlags() & O_CLOEXEC);
                if (!flagsSet) {                    // one file per socket: every fd of it shares the status flags
                    puppet.call("fcntl(F_SETFL) fd " + e.getFd(), FCNTL, e.getFd(), F_SETFL, e.getFlags() & STATUS_FLAGS);
                    flagsSet = true;
                }
            }
        }

        int pidfd = PidFd.open(puppet.pid);
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
            Files.closeQuietly(pidfd);
        }
        puppet.call("close", SyscallNumbers.CLOSE, ends[0]);
        puppet.call("close", SyscallNumbers.CLOSE, ends[1]);
    }

    /** SO_SNDBUF and SO_RCVBUF as dumped (getsockopt reports twice what was set); FORCE: we are privileged. */
    private static void setBuffers(int sock, UnixSocketState s) {
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
