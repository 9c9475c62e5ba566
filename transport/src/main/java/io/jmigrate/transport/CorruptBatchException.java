package io.jmigrate.transport;

/** A page batch failed its checksum or could not be decoded: the stream it came on is not trusted any more. */
public final class CorruptBatchException extends TransportException {
    public CorruptBatchException(String message) { super(message); }
}
