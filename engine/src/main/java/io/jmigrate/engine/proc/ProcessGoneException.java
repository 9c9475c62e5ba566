package io.jmigrate.engine.proc;

/**
 * The process (or one of its threads) is not in /proc: it never existed or has exited and been reaped.
 * Thrown instead of {@link java.nio.file.NoSuchFileException} so callers can tell "the target went away"
 * from "a file we expected is missing".
 */
public final class ProcessGoneException extends RuntimeException {
    private final int pid;
    private final int tid;

    public ProcessGoneException(int pid) {
        this(pid, -1, null);
    }

    public ProcessGoneException(int pid, Throwable cause) {
        this(pid, -1, cause);
    }

    private ProcessGoneException(int pid, int tid, Throwable cause) {
        super(tid < 0 ? "process " + pid + " does not exist" : "thread " + tid + " of process " + pid + " does not exist",
                cause);
        this.pid = pid;
        this.tid = tid;
    }

    public static ProcessGoneException thread(int pid, int tid, Throwable cause) {
        return new ProcessGoneException(pid, tid, cause);
    }

    public int pid() { return pid; }

    /** The thread that is gone, or -1 when the whole process is. */
    public int tid() { return tid; }
}
