package io.jmigrate.engine.sys;

/** Signal numbers and sending signals. */
public final class Signals {
    public static final int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
            SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
            SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22;
    public static final int NSIG = 64;
    private static final String[] NAMES = {"0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
            "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
            "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
            "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"};

    private Signals() {}

    public static String name(int sig) {
        if (sig > 0 && sig < NAMES.length) return NAMES[sig];
        if (sig >= 34 && sig <= NSIG) return "SIGRTMIN+" + (sig - 34);
        return "signal " + sig;
    }

    public static void kill(int pid, int sig) {
        Libc.syscall("kill(" + pid + ", " + name(sig) + ")", SyscallNumbers.KILL, pid, sig);
    }

    public static void tgkill(int tgid, int tid, int sig) {
        Libc.syscall("tgkill(" + tgid + ", " + tid + ", " + name(sig) + ")", SyscallNumbers.TGKILL, tgid, tid, sig);
    }

    /** True if a process with this PID exists (zombies included). */
    public static boolean exists(int pid) {
        try {
            Libc.syscall("kill(" + pid + ", 0)", SyscallNumbers.KILL, pid, 0);
            return true;
        } catch (ErrnoException e) {
            return !e.is(Errno.ESRCH);
        }
    }
}
