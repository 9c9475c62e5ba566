package io.jmigrate.engine.image;

import java.nio.ByteBuffer;

/**
 * Where dumped pages go. The dump, pre-dump and final dump only append whole pages and keep the returned position
 * in their PageIndex; the local pages file ({@link PagesWriter}) is one sink, a page server on another host will be
 * another. A local sink additionally lets the frozen process write its own pages into it (see PagesWriter.reserve).
 */
public interface PageSink {
    /** Appends the buffer's remaining bytes (whole pages), consuming them; returns where they start in the sink. */
    long append(ByteBuffer pages);

    /** Page bytes appended so far. */
    long bytesAppended();
}
