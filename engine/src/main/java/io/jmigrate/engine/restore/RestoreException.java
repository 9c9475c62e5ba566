package io.jmigrate.engine.restore;

/** A restore could not be done; nothing it started is left behind. The message is one line for the user. */
public final class RestoreException extends RuntimeException {
    public RestoreException(String message) { super(message); }
    public RestoreException(String message, Throwable cause) { super(message, cause); }
}
