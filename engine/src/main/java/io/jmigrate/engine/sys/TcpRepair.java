package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The kernel's TCP repair mode, on our own descriptor (a pidfd_getfd copy) of a connected TCP socket: in repair
 * mode the socket's sequence numbers, options, window and queues can be read and written without anything being
 * sent on the wire, and closing it sends neither FIN nor RST. Needs CAP_NET_ADMIN.
 */
public final class TcpRepair {
    private static final int SYS_CONNECT = 42, SYS_GETPEERNAME = 52, IOCTL = 16;
    public static final int SOL_TCP = 6, TCP_MAXSEG = 2, TCP_INFO = 11, TCP_REPAIR = 19, TCP_REPAIR_QUEUE = 20,
            TCP_QUEUE_SEQ = 21, TCP_REPAIR_OPTIONS = 22, TCP_TIMESTAMP = 24, TCP_REPAIR_WINDOW = 29;
    public static final int TCP_NO_QUEUE = 0, TCP_RECV_QUEUE = 1, TCP_SEND_QUEUE = 2;
    public static final int TCPOPT_MSS = 2, TCPOPT_WINDOW = 3, TCPOPT_SACK_PERM = 4, TCPOPT_TIMESTAMP = 8;
    public static final int TCPI_OPT_TIMESTAMPS = 1, TCPI_OPT_SACK = 2, TCPI_OPT_WSCALE = 4;
    private static final int SIOCINQ = 0x541B, SIOCOUTQ = 0x5411;

    /** struct tcp_repair_window. */
    public record Window(int sndWl1, int sndWnd, int maxWindow, int rcvWnd, int rcvWup) {}

    /** From TCP_INFO: the state, tcpi_options and the window scales. */
    public record Info(int state, int options, int sndWscale, int rcvWscale) {}

    private TcpRepair() {}

    public static void repair(int fd, boolean on) {
        Sockets.setInt(fd, SOL_TCP, TCP_REPAIR, on ? 1 : 0);
    }

    public static void selectQueue(int fd, int queue) {
        Sockets.setInt(fd, SOL_TCP, TCP_REPAIR_QUEUE, queue);
    }

    public static int queueSeq(int fd) {
        return Sockets.getInt(fd, SOL_TCP, TCP_QUEUE_SEQ);
    }

    public static void setQueueSeq(int fd, int seq) {
        Sockets.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, seq);
    }

    public static int mss(int fd) {
        return Sockets.getInt(fd, SOL_TCP, TCP_MAXSEG);
    }

    public static int timestamp(int fd) {
        return Sockets.getInt(fd, SOL_TCP, TCP_TIMESTAMP);
    }

    public static void setTimestamp(int fd, int ts) {
        Sockets.setInt(fd, SOL_TCP, TCP_TIMESTAMP, ts);
    }

    public static Info info(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(256, 8);
            MemorySegment len = arena.allocate(4, 4);
            len.set(ValueLayout.JAVA_INT, 0, 256);
            Libc.syscall("getsockopt(TCP_INFO)", Sockets.SYS_GETSOCKOPT, fd, SOL_TCP, TCP_INFO, info.address(),
                    len.address(), 0);
            int scales = Byte.toUnsignedInt(info.get(ValueLayout.JAVA_BYTE, 6));
            return new Info(Byte.toUnsignedInt(info.get(ValueLayout.JAVA_BYTE, 0)),
                    Byte.toUnsignedInt(info.get(ValueLayout.JAVA_BYTE, 5)), scales & 0xf, scales >>> 4);
        }
    }

    public static Window window(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(20, 4);
            MemorySegment len = arena.allocate(4, 4);
            len.set(ValueLayout.JAVA_INT, 0, 20);
            Libc.syscall("getsockopt(TCP_REPAIR_WINDOW)", Sockets.SYS_GETSOCKOPT, fd, SOL_TCP, TCP_REPAIR_WINDOW,
                    w.address(), len.address(), 0);
            return new Window(w.get(ValueLayout.JAVA_INT, 0), w.get(ValueLayout.JAVA_INT, 4),
                    w.get(ValueLayout.JAVA_INT, 8), w.get(ValueLayout.JAVA_INT, 12), w.get(ValueLayout.JAVA_INT, 16));
        }
    }

    public static void setWindow(int fd, Window win) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(20, 4);
            w.set(ValueLayout.JAVA_INT, 0, win.sndWl1());
            w.set(ValueLayout.JAVA_INT, 4, win.sndWnd());
            w.set(ValueLayout.JAVA_INT, 8, win.maxWindow());
            w.set(ValueLayout.JAVA_INT, 12, win.rcvWnd());
            w.set(ValueLayout.JAVA_INT, 16, win.rcvWup());
            Libc.syscall("setsockopt(TCP_REPAIR_WINDOW)", Sockets.SYS_SETSOCKOPT, fd, SOL_TCP, TCP_REPAIR_WINDOW,
                    w.address(), 20, 0);
        }
    }

    /** TCP_REPAIR_OPTIONS: pairs of {opt_code, opt_val}. */
    public static void setOptions(int fd, int[] codesAndValues) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = arena.allocate(Math.max(4L * codesAndValues.length, 8), 4);
            for (int i = 0; i < codesAndValues.length; i++) opts.set(ValueLayout.JAVA_INT, 4L * i, codesAndValues[i]);
            Libc.syscall("setsockopt(TCP_REPAIR_OPTIONS)", Sockets.SYS_SETSOCKOPT, fd, SOL_TCP, TCP_REPAIR_OPTIONS,
                    opts.address(), 4L * codesAndValues.length, 0);
        }
    }

    /** SIOCINQ: bytes in the receive queue not read yet. */
    public static int inq(int fd) {
        return ioctlInt(fd, SIOCINQ, "ioctl(SIOCINQ)");
    }

    /** SIOCOUTQ: bytes in the send queue not acknowledged yet. */
    public static int outq(int fd) {
        return ioctlInt(fd, SIOCOUTQ, "ioctl(SIOCOUTQ)");
    }

    private static int ioctlInt(int fd, int request, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment answer = arena.allocate(4, 4);
            Libc.syscall(what, IOCTL, fd, request, answer.address());
            return answer.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** recv(MSG_PEEK | MSG_DONTWAIT) of {@code len} bytes of the selected queue; fewer if fewer are there. */
    public static byte[] peek(int fd, int len) {
        if (len == 0) return new byte[0];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(len);
            long n = Libc.syscall("recv(MSG_PEEK, " + len + " bytes)", Sockets.SYS_RECVFROM, fd, buf.address(), len,
                    Sockets.MSG_PEEK | Sockets.MSG_DONTWAIT, 0, 0);
            return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Puts {@code data} into the selected queue (repair mode: nothing goes on the wire). */
    public static void fill(int fd, byte[] data) {
        if (data.length == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(data.length);
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            for (long done = 0; done < data.length; ) {
                long n = Libc.syscall("send(" + (data.length - done) + " bytes into a repaired queue)", Sockets.SYS_SENDTO,
                        fd, buf.address() + done, data.length - done, Sockets.MSG_DONTWAIT | Sockets.MSG_NOSIGNAL, 0, 0);
                if (n <= 0) throw new IllegalStateException("a repaired queue took no bytes");
                done += n;
            }
        }
    }

    public static void bind(int fd, byte[] sockaddr) {
        withAddr(fd, sockaddr, InetSockets.SYS_BIND, "bind");
    }

    public static void connect(int fd, byte[] sockaddr) {
        withAddr(fd, sockaddr, SYS_CONNECT, "connect (repair mode)");
    }

    private static void withAddr(int fd, byte[] sockaddr, int nr, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocate(sockaddr.length, 8);
            MemorySegment.copy(sockaddr, 0, addr, ValueLayout.JAVA_BYTE, 0, sockaddr.length);
            Libc.syscall(what + " " + InetSockets.describe(sockaddr), nr, fd, addr.address(), sockaddr.length);
        }
    }

    /** getpeername(2). */
    public static byte[] peerName(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocate(128, 8);
            MemorySegment len = arena.allocate(4, 4);
            len.set(ValueLayout.JAVA_INT, 0, 128);
            Libc.syscall("getpeername", SYS_GETPEERNAME, fd, addr.address(), len.address());
            return addr.asSlice(0, Math.min(128, len.get(ValueLayout.JAVA_INT, 0))).toArray(ValueLayout.JAVA_BYTE);
        }
    }
}
