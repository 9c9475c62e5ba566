package io.jmigrate.engine.image;

import java.nio.ByteBuffer;

/**
 * Where dumped pages go. The dump, pre-dump and final dump only append whole pages and keep the returned position
 * in their PageIndex; the local pages file ({@link PagesWriter}) is one sink, a page server on another host
 * (page-server's NetworkImageSink) another. A local sink additionally lets the frozen process write its own pages
 * into it (see PagesWriter.reserve); a sink that is not a {@link PagesWriter} never gets that fast path.
 */
public interface PageSink {
    /** Appends the buffer's remaining bytes (whole pages), consuming them; returns where they start in the sink. */
    long append(ByteBuffer pages);

    /**
     * True when the sink needs the address of every run ({@link #append(long, ByteBuffer)}): a receiver that
     * rebuilds the page index itself. A positional sink (the local file) takes whole batches of runs at once.
     */
    default boolean wantsAddresses() { return false; }

    /**
     * Appends one run: the buffer's remaining bytes are the memory at {@code vaddr}. Returns the position as
     * {@link #append(ByteBuffer)} does (a sink that rebuilds the index may return a position of its own counting).
     */
    default long append(long vaddr, ByteBuffer pages) { return append(pages); }

    /** Page bytes appended so far. */
    long bytesAppended();

    /** Where the contents of the shmem objects this process owns go; used before {@link #close()}. */
    ShmemSink shmem();

    /** Completes the pages of this process (a failure here fails the dump). */
    void close();
}
