package io.jmigrate.engine.sys;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Socket calls on our own descriptors (often a pidfd_getfd copy of another process's socket, which shares the
 * socket with it), and reading what a unix socket's receive queue holds without taking it out.
 */
public final class Sockets {
    public static final int SYS_SOCKET = 41, SYS_SENDTO = 44, SYS_RECVFROM = 45, SYS_RECVMSG = 47, SYS_SHUTDOWN = 48,
            SYS_SOCKETPAIR = 53, SYS_SETSOCKOPT = 54, SYS_GETSOCKOPT = 55;
    public static final int AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16;
    public static final int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 02000000;
    public static final int SOL_SOCKET = 1, SO_TYPE = 3, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_PASSCRED = 16,
            SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33, SO_PROTOCOL = 38, SO_DOMAIN = 39, SO_PEEK_OFF = 42;
    public static final int MSG_OOB = 1, MSG_PEEK = 2, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_CTRUNC = 0x08,
            MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;
    public static final int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
    public static final int IPPROTO_TCP = 6, IPPROTO_UDP = 17;
    private static final int SCM_RIGHTS = 1, SCM_PIDFD = 0x4c, SIOCATMARK = 0x8905, IOCTL = 16;
    private static final int MSGHDR_SIZE = 56, CONTROL_SIZE = 4096;

    private Sockets() {}

    /** socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0) in our process. */
    public static int[] pair(int type) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sv = arena.allocate(8, 4);
            Libc.syscall("socketpair(AF_UNIX, " + typeName(type) + ")", SYS_SOCKETPAIR, AF_UNIX, type | SOCK_CLOEXEC, 0,
                    sv.address());
            return new int[]{sv.get(ValueLayout.JAVA_INT, 0), sv.get(ValueLayout.JAVA_INT, 4)};
        }
    }

    public static int getInt(int fd, int level, int option) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(4, 4);
            MemorySegment len = arena.allocate(4, 4);
            len.set(ValueLayout.JAVA_INT, 0, 4);
            Libc.syscall("getsockopt(" + optionName(option) + ")", SYS_GETSOCKOPT, fd, level, option, value.address(),
                    len.address(), 0);
            return value.get(ValueLayout.JAVA_INT, 0);
        }
    }

    public static void setInt(int fd, int level, int option, int v) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(4, 4);
            value.set(ValueLayout.JAVA_INT, 0, v);
            Libc.syscall("setsockopt(" + optionName(option) + ", " + v + ")", SYS_SETSOCKOPT, fd, level, option,
                    value.address(), 4, 0);
        }
    }

    public static void shutdown(int fd, int how) {
        Libc.syscall("shutdown(" + how + ")", SYS_SHUTDOWN, fd, how);
    }

    /** SIOCATMARK: true if the next byte to read is urgent (MSG_OOB) data; false where unix sockets have none. */
    public static boolean atMark(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment answer = arena.allocate(4, 4);
            Libc.syscall("ioctl(SIOCATMARK)", IOCTL, fd, SIOCATMARK, answer.address());
            return answer.get(ValueLayout.JAVA_INT, 0) != 0;
        } catch (ErrnoException e) {
            return false;                                      // a kernel without MSG_OOB for unix sockets
        }
    }

    /** One send(2) of all of {@code data}; returns the bytes the kernel took (a stream may take fewer). */
    public static long send(int fd, byte[] data, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(data.length, 1));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            return Libc.syscall("send(" + data.length + " bytes)", SYS_SENDTO, fd, buf.address(), data.length, flags, 0, 0);
        }
    }

    /** One recv(2) of at most {@code max} bytes (one datagram, or what a stream has), never blocking. */
    public static byte[] receive(int fd, int max) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(max, 1));
            long n = Libc.syscall("recv(" + max + " bytes)", SYS_RECVFROM, fd, buf.address(), max, MSG_DONTWAIT, 0, 0);
            return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Sends all of {@code data} on a stream socket in as many send(2) calls as it takes, never blocking. */
    public static void sendAll(int fd, byte[] data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(data.length, 1));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            for (long done = 0; done < data.length; ) {
                done += Libc.syscall("send(" + (data.length - done) + " of " + data.length + " bytes)", SYS_SENDTO, fd,
                        buf.address() + done, data.length - done, MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
            }
        }
    }

    /**
     * What a receive queue holds, read without taking it out.
     *
     * @param messages   for a stream socket one element with all queued bytes (none if the queue is empty);
     *                   otherwise one element per queued datagram or record, in order
     * @param passesFds  some message carries file descriptors (SCM_RIGHTS or SCM_PIDFD): they are left in the
     *                   queue, and the copies the peek handed us are closed again
     * @param urgentMark a stream socket holds urgent (MSG_OOB) data
     */
    public record Queue(List<byte[]> messages, boolean passesFds, boolean urgentMark) {
        public long bytes() {
            return messages.stream().mapToLong(m -> m.length).sum();
        }
    }

    /**
     * Reads the receive queue of unix socket {@code fd} with MSG_PEEK, walking it with SO_PEEK_OFF. The peek
     * offset belongs to the socket (every descriptor of it shares one), so its value is put back as found.
     * Zero-length datagrams show up only if nobody peeked at them before (the kernel then skips them).
     *
     * @param type        SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET
     * @param rcvShutdown the socket is shut down for reading: a peek past the end returns 0 instead of EAGAIN
     * @param maxMessage  a size no single datagram exceeds (the sender's SO_SNDBUF); the buffer grows if it does
     */
    public static Queue peekQueue(int fd, int type, boolean rcvShutdown, int maxMessage) {
        boolean stream = type == SOCK_STREAM;
        int saved = getInt(fd, SOL_SOCKET, SO_PEEK_OFF);
        List<byte[]> messages = new ArrayList<>();
        ByteArrayOutputStream streamBytes = new ByteArrayOutputStream();
        boolean passesFds = false, urgent = stream && atMark(fd);
        int bufSize = stream ? 256 * 1024 : Math.max(maxMessage, 64 * 1024);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(bufSize);
            MemorySegment control = arena.allocate(CONTROL_SIZE, 8);
            MemorySegment iov = arena.allocate(Iovec.SIZE, 8);
            MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
            long offset = 0;
            boolean previousShort = false;
            for (int guard = 0; guard < 10_000_000; guard++) {
                if (offset > Integer.MAX_VALUE) throw new IllegalStateException("receive queue over 2 GiB");
                setInt(fd, SOL_SOCKET, SO_PEEK_OFF, (int) offset);
                Iovec.set(iov, 0, buf.address(), bufSize);
                msg.fill((byte) 0);
                msg.set(ValueLayout.JAVA_LONG, 16, iov.address());
                msg.set(ValueLayout.JAVA_LONG, 24, 1);
                msg.set(ValueLayout.JAVA_LONG, 32, control.address());
                msg.set(ValueLayout.JAVA_LONG, 40, CONTROL_SIZE);
                long n = Libc.syscallRaw(SYS_RECVMSG, fd, msg.address(),
                        MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (stream ? 0 : MSG_TRUNC), 0, 0, 0);
                if (n == -Errno.EAGAIN) break;
                if (n < 0) throw new ErrnoException("recvmsg(MSG_PEEK)", (int) -n);
                int flags = msg.get(ValueLayout.JAVA_INT, 48);
                if (closeReceivedFds(control, msg.get(ValueLayout.JAVA_LONG, 40)) || (flags & MSG_CTRUNC) != 0) {
                    passesFds = true;
                    break;
                }
                if (stream) {
                    if (n == 0) break;                         // shut down for reading: the end of the data
                    // A stream peek glues every queued chunk together; it stops short only at a message with
                    // descriptors (seen above), at a change of sender credentials (SO_PASSCRED), or at the
                    // urgent-data mark.
                    if (previousShort && getInt(fd, SOL_SOCKET, SO_PASSCRED) == 0) urgent = true;
                    previousShort = n < bufSize;
                    streamBytes.write(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), 0, (int) n);
                    offset += n;
                    continue;
                }
                if (n == 0 && rcvShutdown) break;             // (a zero-length datagram looks the same: see above)
                if (n > bufSize) {                             // MSG_TRUNC: the datagram's real length; peek it again
                    bufSize = (int) n;
                    buf = arena.allocate(bufSize);
                    continue;
                }
                messages.add(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
                offset += n;
            }
        } finally {
            setInt(fd, SOL_SOCKET, SO_PEEK_OFF, saved);
        }
        if (stream && streamBytes.size() > 0) messages.add(streamBytes.toByteArray());
        return new Queue(List.copyOf(messages), passesFds, urgent);
    }

    /** Closes descriptors a peek installed in our process; true if there were any. */
    private static boolean closeReceivedFds(MemorySegment control, long len) {
        boolean any = false;
        for (long off = 0; off + 16 <= len; ) {
            long cmsgLen = control.get(ValueLayout.JAVA_LONG, off);
            if (cmsgLen < 16 || off + cmsgLen > len) break;
            int level = control.get(ValueLayout.JAVA_INT, off + 8), type = control.get(ValueLayout.JAVA_INT, off + 12);
            if (level == SOL_SOCKET && (type == SCM_RIGHTS || type == SCM_PIDFD)) {
                for (long p = off + 16; p + 4 <= off + cmsgLen; p += 4) {
                    Files.closeQuietly(control.get(ValueLayout.JAVA_INT, p));
                    any = true;
                }
            }
            off += (cmsgLen + 7) & ~7L;
        }
        return any;
    }

    public static String typeName(int type) {
        return switch (type) {
            case SOCK_STREAM -> "SOCK_STREAM";
            case SOCK_DGRAM -> "SOCK_DGRAM";
            case SOCK_RAW -> "SOCK_RAW";
            case SOCK_SEQPACKET -> "SOCK_SEQPACKET";
            default -> "type " + type;
        };
    }

    public static String familyName(int family) {
        return switch (family) {
            case AF_UNIX -> "AF_UNIX";
            case AF_INET -> "AF_INET";
            case AF_INET6 -> "AF_INET6";
            case AF_NETLINK -> "AF_NETLINK";
            case 17 -> "AF_PACKET";
            case 40 -> "AF_VSOCK";
            default -> "address family " + family;
        };
    }

    private static String optionName(int option) {
        return switch (option) {
            case SO_TYPE -> "SO_TYPE";
            case SO_SNDBUF -> "SO_SNDBUF";
            case SO_RCVBUF -> "SO_RCVBUF";
            case SO_PASSCRED -> "SO_PASSCRED";
            case SO_SNDBUFFORCE -> "SO_SNDBUFFORCE";
            case SO_RCVBUFFORCE -> "SO_RCVBUFFORCE";
            case SO_PROTOCOL -> "SO_PROTOCOL";
            case SO_DOMAIN -> "SO_DOMAIN";
            case SO_PEEK_OFF -> "SO_PEEK_OFF";
            default -> "option " + option;
        };
    }
}
