package io.jmigrate.transport;

/** A transport failure with a one-line message meant for the user (refusals, broken streams, corrupt data). */
public class TransportException extends RuntimeException {
    public TransportException(String message) { super(message); }
    public TransportException(String message, Throwable cause) { super(message, cause); }
}
