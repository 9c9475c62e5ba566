package io.jmigrate.transport;

/**
 * Where a receiver puts one round. The transport calls it from its event loops: {@link #pages} concurrently from
 * the round's streams, the rest from one stream at a time. Exactly one of {@link #commit} (successful) or
 * {@link #abort} ends the round.
 */
public interface RoundSink {
    /** A chunk of a metadata image file; chunks of one file come in order, {@code last} on the final one. */
    void file(String name, long offset, byte[] content, boolean last);

    /** Verified pages; the caller releases the batch afterwards. */
    void pages(PageBatch batch);

    /**
     * Makes the round durable and visible (the sender has seen every batch stored); {@code inventory} is the
     * sender's Inventory message. Returns where it now lies.
     */
    String commit(byte[] inventory);

    /** Discards everything received for this round; the round never becomes visible. */
    void abort(String reason);

    /** Bytes stored so far. */
    long bytesStored();
}
