package io.jmigrate.transport;

import io.netty.handler.codec.LengthFieldBasedFrameDecoder;

/** Splits the byte stream into frames ({@code u32 length} prefix, stripped); a frame above the limit closes the stream. */
final class FrameDecoder extends LengthFieldBasedFrameDecoder {
    FrameDecoder() {
        super(Wire.MAX_FRAME_BYTES, 0, 4, 0, 4, true);
    }
}
