package io.jmigrate.transport;

import io.netty.handler.codec.LengthFieldBasedFrameDecoder;

/**
 * Splits the byte stream into frames ({@code u32 length} prefix, stripped); a frame above the limit closes the
 * stream.
 *
 * <p>Received buffers are gathered into a composite instead of being copied into one contiguous buffer: a 512 KiB
 * batch that arrives in several reads is handed on as a slice over those reads, and its pages are copied once, to
 * where they belong (the receiver's memory or the pages file). Only an LZ4 body spanning reads is joined (the LZ4
 * block decoder needs it contiguous); it is the smaller part by then.
 */
final class FrameDecoder extends LengthFieldBasedFrameDecoder {
    FrameDecoder() {
        super(Wire.MAX_FRAME_BYTES, 0, 4, 0, 4, true);
        setCumulator(COMPOSITE_CUMULATOR);
    }
}
