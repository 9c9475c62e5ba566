package io.jmigrate.engine.sys;

/** A system call failed. Carries what was attempted, the errno value and its symbolic name. */
public final class ErrnoException extends RuntimeException {
    private final String operation;
    private final int errno;

    public ErrnoException(String operation, int errno) {
        super(operation + ": " + Errno.name(errno) + " (" + Errno.describe(errno) + ")");
        this.operation = operation;
        this.errno = errno;
    }

    public String operation() { return operation; }

    public int errno() { return errno; }

    public String errnoName() { return Errno.name(errno); }

    public boolean is(int value) { return errno == value; }
}
