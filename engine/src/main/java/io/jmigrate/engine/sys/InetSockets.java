package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/** Calls on our own descriptors (pidfd_getfd copies) of AF_INET/AF_INET6 sockets: their address and TCP state. */
public final class InetSockets {
    public static final int SYS_BIND = 49, SYS_LISTEN = 50, SYS_GETSOCKNAME = 51;
    public static final int SO_REUSEADDR = 2, SO_REUSEPORT = 15, SO_ACCEPTCONN = 30;
    public static final int IPPROTO_IPV6 = 41, IPV6_V6ONLY = 26, TCP_INFO = 11;
    /** TCP states (tcp_states.h). */
    public static final int TCP_ESTABLISHED = 1, TCP_CLOSE = 7, TCP_LISTEN = 10;
    public static final int EADDRINUSE = 98, EADDRNOTAVAIL = 99;
    private static final int TCP_INFO_SIZE = 32;

    /** What TCP_INFO tells: the state, and for a listener its accept-queue length and maximum backlog. */
    public record TcpInfo(int state, long acceptQueue, long maxBacklog) {}

    private InetSockets() {}

    /** getsockname(2): the sockaddr_in or sockaddr_in6 bytes the kernel returned. */
    public static byte[] sockName(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocate(128, 8);
            MemorySegment len = arena.allocate(4, 4);
            len.set(ValueLayout.JAVA_INT, 0, 128);
            Libc.syscall("getsockname", SYS_GETSOCKNAME, fd, addr.address(), len.address());
            return addr.asSlice(0, Math.min(128, len.get(ValueLayout.JAVA_INT, 0))).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /**
     * TCP_INFO: for a listener the kernel reports the accept-queue length (sk_ack_backlog) in tcpi_unacked and
     * the listen(2) backlog (sk_max_ack_backlog) in tcpi_sacked.
     */
    public static TcpInfo tcpInfo(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(256, 8);
            MemorySegment len = arena.allocate(4, 4);
            len.set(ValueLayout.JAVA_INT, 0, 256);
            Libc.syscall("getsockopt(TCP_INFO)", Sockets.SYS_GETSOCKOPT, fd, Sockets.IPPROTO_TCP, TCP_INFO,
                    info.address(), len.address(), 0);
            if (len.get(ValueLayout.JAVA_INT, 0) < TCP_INFO_SIZE) throw new IllegalStateException("short TCP_INFO");
            return new TcpInfo(Byte.toUnsignedInt(info.get(ValueLayout.JAVA_BYTE, 0)),
                    Integer.toUnsignedLong(info.get(ValueLayout.JAVA_INT, 24)),
                    Integer.toUnsignedLong(info.get(ValueLayout.JAVA_INT, 28)));
        }
    }

    /** "127.0.0.1:8080" or "[::1]:8080" for a sockaddr_in / sockaddr_in6. */
    public static String describe(byte[] sockaddr) {
        if (sockaddr.length < 4) return "(no address)";
        int family = (sockaddr[0] & 0xff) | (sockaddr[1] & 0xff) << 8;
        int port = (sockaddr[2] & 0xff) << 8 | (sockaddr[3] & 0xff);
        try {
            if (family == Sockets.AF_INET && sockaddr.length >= 8) {
                return InetAddress.getByAddress(Arrays.copyOfRange(sockaddr, 4, 8)).getHostAddress() + ":" + port;
            }
            if (family == Sockets.AF_INET6 && sockaddr.length >= 24) {
                String host = InetAddress.getByAddress(Arrays.copyOfRange(sockaddr, 8, 24)).getHostAddress();
                return "[" + host.replaceAll("%.*", "") + "]:" + port;
            }
        } catch (UnknownHostException e) {
            // fall through
        }
        return Sockets.familyName(family) + " address";
    }

    public static String stateName(int state) {
        return switch (state) {
            case 1 -> "ESTABLISHED";
            case 2 -> "SYN_SENT";
            case 3 -> "SYN_RECV";
            case 4 -> "FIN_WAIT1";
            case 5 -> "FIN_WAIT2";
            case 6 -> "TIME_WAIT";
            case 7 -> "CLOSE";
            case 8 -> "CLOSE_WAIT";
            case 9 -> "LAST_ACK";
            case 10 -> "LISTEN";
            case 11 -> "CLOSING";
            default -> "state " + state;
        };
    }
}
