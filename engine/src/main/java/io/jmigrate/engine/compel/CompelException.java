package io.jmigrate.engine.compel;

/** Freezing, injecting into or resuming a task went wrong in a way that is not a plain failed system call. */
public class CompelException extends RuntimeException {
    public CompelException(String message) { super(message); }
    public CompelException(String message, Throwable cause) { super(message, cause); }
}
