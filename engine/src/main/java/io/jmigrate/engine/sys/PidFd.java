package io.jmigrate.engine.sys;

/** pidfd_open / pidfd_getfd / pidfd_send_signal: handles on processes that cannot be confused with a reused PID. */
public final class PidFd {
    private PidFd() {}

    public static int open(int pid) {
        return (int) Libc.syscall("pidfd_open(" + pid + ")", SyscallNumbers.PIDFD_OPEN, pid, 0);
    }

    /** Duplicates file descriptor {@code targetFd} of the process behind {@code pidfd} into ours. */
    public static int getFd(int pidfd, int targetFd) {
        return (int) Libc.syscall("pidfd_getfd(fd " + targetFd + ")", SyscallNumbers.PIDFD_GETFD, pidfd, targetFd, 0);
    }

    public static void sendSignal(int pidfd, int sig) {
        Libc.syscall("pidfd_send_signal(" + Signals.name(sig) + ")", SyscallNumbers.PIDFD_SEND_SIGNAL, pidfd, sig, 0, 0);
    }
}
