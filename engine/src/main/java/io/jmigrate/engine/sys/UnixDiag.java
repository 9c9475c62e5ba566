package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * unix_diag over NETLINK_SOCK_DIAG: what the kernel knows about one unix socket, looked up by inode (type,
 * state, bound name, peer, queue lengths, shutdown state). Sockets are looked up in our network namespace.
 */
public final class UnixDiag implements AutoCloseable {
    private static final int NETLINK_SOCK_DIAG = 4, SOCK_DIAG_BY_FAMILY = 20, NLMSG_ERROR = 2, NLM_F_REQUEST = 1;
    private static final int UDIAG_SHOW_NAME = 0x01, UDIAG_SHOW_PEER = 0x04, UDIAG_SHOW_RQLEN = 0x10;
    private static final int UNIX_DIAG_NAME = 0, UNIX_DIAG_PEER = 2, UNIX_DIAG_RQLEN = 4, UNIX_DIAG_SHUTDOWN = 6;
    private static final int REQUEST_SIZE = 16 + 24, REPLY_SIZE = 32 * 1024;
    /** sk_state values (the TCP names are shared with unix sockets). */
    public static final int TCP_ESTABLISHED = 1, TCP_CLOSE = 7, TCP_LISTEN = 10;
    /** sk_shutdown bits. */
    public static final int RCV_SHUTDOWN = 1, SEND_SHUTDOWN = 2;

    /**
     * @param name      the bound address: a path, "@..." for an abstract name, null if unbound
     * @param peer      the peer's inode, 0 if there is none (unconnected, or the peer is gone)
     * @param rqueue    bytes queued for reading (stream, seqpacket), the size of the first datagram (dgram),
     *                  or the backlog length of a listening socket
     * @param shutdown  RCV_SHUTDOWN | SEND_SHUTDOWN bits
     */
    public record Info(long inode, int type, int state, String name, long peer, long rqueue, long wqueue, int shutdown) {}

    private final int fd;
    private int seq;

    public UnixDiag() {
        fd = (int) Libc.syscall("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", Sockets.SYS_SOCKET, Sockets.AF_NETLINK,
                Sockets.SOCK_DGRAM | Sockets.SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    }

    /** The unix socket with this inode, or null if our network namespace has none (or it is not AF_UNIX). */
    public Info query(long inode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment req = arena.allocate(REQUEST_SIZE, 8);
            req.set(ValueLayout.JAVA_INT, 0, REQUEST_SIZE);                     // nlmsghdr
            req.set(ValueLayout.JAVA_SHORT, 4, (short) SOCK_DIAG_BY_FAMILY);
            req.set(ValueLayout.JAVA_SHORT, 6, (short) NLM_F_REQUEST);
            req.set(ValueLayout.JAVA_INT, 8, ++seq);
            req.set(ValueLayout.JAVA_BYTE, 16, (byte) Sockets.AF_UNIX);        // unix_diag_req
            req.set(ValueLayout.JAVA_INT, 20, -1);                              // every state
            req.set(ValueLayout.JAVA_INT, 24, (int) inode);
            req.set(ValueLayout.JAVA_INT, 28, UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN);
            req.set(ValueLayout.JAVA_INT, 32, -1);                              // no cookie to check
            req.set(ValueLayout.JAVA_INT, 36, -1);
            Libc.syscall("sendto(sock_diag)", Sockets.SYS_SENDTO, fd, req.address(), REQUEST_SIZE, 0, 0, 0);
            MemorySegment reply = arena.allocate(REPLY_SIZE, 8);
            while (true) {
                long n = Libc.syscall("recv(sock_diag)", Sockets.SYS_RECVFROM, fd, reply.address(), REPLY_SIZE, 0, 0, 0);
                for (long off = 0; off + 16 <= n; ) {
                    int len = reply.get(ValueLayout.JAVA_INT, off);
                    int type = Short.toUnsignedInt(reply.get(ValueLayout.JAVA_SHORT, off + 4));
                    int replySeq = reply.get(ValueLayout.JAVA_INT, off + 8);
                    if (len < 16 || off + len > n) throw new IllegalStateException("malformed sock_diag reply");
                    if (replySeq == seq) {
                        if (type == NLMSG_ERROR) {
                            int errno = -reply.get(ValueLayout.JAVA_INT, off + 16);
                            if (errno == Errno.ENOENT) return null;
                            throw new ErrnoException("sock_diag(socket:[" + inode + "])", errno);
                        }
                        if (type == SOCK_DIAG_BY_FAMILY) return parse(reply.asSlice(off, len));
                    }
                    off += (len + 3) & ~3L;
                }
            }
        }
    }

    private static Info parse(MemorySegment m) {
        int type = Byte.toUnsignedInt(m.get(ValueLayout.JAVA_BYTE, 17));
        int state = Byte.toUnsignedInt(m.get(ValueLayout.JAVA_BYTE, 18));
        long inode = Integer.toUnsignedLong(m.get(ValueLayout.JAVA_INT, 20));
        String name = null;
        long peer = 0, rqueue = 0, wqueue = 0;
        int shutdown = 0;
        for (long off = 32; off + 4 <= m.byteSize(); ) {
            int len = Short.toUnsignedInt(m.get(ValueLayout.JAVA_SHORT, off));
            int attr = Short.toUnsignedInt(m.get(ValueLayout.JAVA_SHORT, off + 2)) & 0x3fff;
            if (len < 4 || off + len > m.byteSize()) break;
            MemorySegment payload = m.asSlice(off + 4, len - 4);
            switch (attr) {
                case UNIX_DIAG_NAME -> name = address(payload.toArray(ValueLayout.JAVA_BYTE));
                case UNIX_DIAG_PEER -> peer = Integer.toUnsignedLong(payload.get(ValueLayout.JAVA_INT_UNALIGNED, 0));
                case UNIX_DIAG_RQLEN -> {
                    rqueue = Integer.toUnsignedLong(payload.get(ValueLayout.JAVA_INT_UNALIGNED, 0));
                    wqueue = Integer.toUnsignedLong(payload.get(ValueLayout.JAVA_INT_UNALIGNED, 4));
                }
                case UNIX_DIAG_SHUTDOWN -> shutdown = Byte.toUnsignedInt(payload.get(ValueLayout.JAVA_BYTE, 0));
                default -> { }
            }
            off += (len + 3) & ~3L;
        }
        return new Info(inode, type, state, name, peer, rqueue, wqueue, shutdown);
    }

    /** sun_path as bound: "@name" for the abstract namespace, the path up to its NUL otherwise. */
    private static String address(byte[] sunPath) {
        if (sunPath.length > 0 && sunPath[0] == 0) {
            return "@" + new String(sunPath, 1, sunPath.length - 1, StandardCharsets.UTF_8);
        }
        int end = 0;
        while (end < sunPath.length && sunPath[end] != 0) end++;
        return new String(sunPath, 0, end, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        Files.closeQuietly(fd);
    }
}
