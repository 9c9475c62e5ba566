package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** wait4(2) with decoded status. __WALL is always set so threads and clones are waited for too. */
public final class Wait {
    public static final int WNOHANG = 1, WALL = 0x40000000;

    /** A decoded wait status; {@code pid} is 0 when WNOHANG found nothing. */
    public record Status(int pid, int raw) {
        public boolean exited() { return pid > 0 && (raw & 0x7f) == 0; }
        public int exitCode() { return (raw >> 8) & 0xff; }
        public boolean signaled() { return pid > 0 && (raw & 0x7f) != 0 && (raw & 0x7f) != 0x7f; }
        public int termSignal() { return raw & 0x7f; }
        public boolean stopped() { return pid > 0 && (raw & 0xff) == 0x7f; }
        public int stopSignal() { return (raw >> 8) & 0xff; }
        public int event() { return (raw >> 16) & 0xff; }
        public boolean gone() { return exited() || signaled(); }
        /** A syscall-enter or -exit stop (needs PTRACE_O_TRACESYSGOOD). */
        public boolean syscallStop() { return stopped() && stopSignal() == (Signals.SIGTRAP | 0x80); }

        @Override public String toString() {
            if (pid == 0) return "nothing";
            if (exited()) return pid + " exited " + exitCode();
            if (signaled()) return pid + " killed by " + Signals.name(termSignal());
            if (stopped()) return pid + " stopped " + (syscallStop() ? "at syscall" : Signals.name(stopSignal()))
                    + (event() != 0 ? " event " + event() : "");
            return pid + " status 0x" + Integer.toHexString(raw);
        }
    }

    private Wait() {}

    public static Status waitpid(int pid, int options) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment status = arena.allocate(ValueLayout.JAVA_INT);
            while (true) {
                try {
                    long r = Libc.syscall("wait4(" + pid + ")", SyscallNumbers.WAIT4, pid, status.address(),
                            options | WALL, 0);
                    return new Status((int) r, r == 0 ? 0 : status.get(ValueLayout.JAVA_INT, 0));
                } catch (ErrnoException e) {
                    if (!e.is(Errno.EINTR)) throw e;
                }
            }
        }
    }
}
