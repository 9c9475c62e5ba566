package io.jmigrate.engine.sys;

/** x86_64 system call numbers the engine calls itself or injects into a traced task. */
public final class SyscallNumbers {
    public static final int READ = 0, WRITE = 1, OPEN = 2, CLOSE = 3, LSEEK = 8, MMAP = 9, MPROTECT = 10,
            MUNMAP = 11, BRK = 12, RT_SIGACTION = 13, RT_SIGPROCMASK = 14, PREAD64 = 17, PREADV = 295, PWRITEV = 296,
            MREMAP = 25, MADVISE = 28, DUP2 = 33, GETPID = 39, KILL = 62, WAIT4 = 61, UMASK = 95,
            GETRLIMIT = 97, PTRACE = 101, SETSID = 112, PERSONALITY = 135, PRCTL = 157, ARCH_PRCTL = 158,
            SETRLIMIT = 160, CHROOT = 161, CHDIR = 80, FCHDIR = 81, GETTID = 186, TKILL = 200,
            SET_TID_ADDRESS = 218, RESTART_SYSCALL = 219, EXIT_GROUP = 231, TGKILL = 234, WAITID = 247,
            OPENAT = 257, SET_ROBUST_LIST = 273, DUP3 = 292, RT_TGSIGQUEUEINFO = 297, PRLIMIT64 = 302,
            PROCESS_VM_READV = 310, PROCESS_VM_WRITEV = 311, USERFAULTFD = 323, RSEQ = 334,
            PIDFD_SEND_SIGNAL = 424, PIDFD_OPEN = 434, CLONE3 = 435, CLOSE_RANGE = 436, PIDFD_GETFD = 438,
            SIGALTSTACK = 131, GETITIMER = 36, SETITIMER = 38, RT_SIGPENDING = 127, EXIT = 60, SECCOMP = 317;
    /** Anon-inode descriptors: created inside the restored process. */
    public static final int EVENTFD2 = 290, TIMERFD_CREATE = 283, TIMERFD_SETTIME = 286, TIMERFD_GETTIME = 287,
            SIGNALFD4 = 289, EPOLL_CREATE1 = 291, EPOLL_CTL = 233, CLOCK_GETTIME = 228, KCMP = 312;

    private SyscallNumbers() {}
}
