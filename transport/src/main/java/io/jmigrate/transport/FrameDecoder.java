package io.jmigrate.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;

/**
 * Splits the byte stream into frames ({@code u32 length} prefix, stripped); a frame above the limit closes the
 * stream.
 *
 * <p>Netty's default cumulator grows its buffer to exactly what it holds on every read, so a 512 KiB batch that
 * arrives in 64 KiB reads is copied over and over (about 4.5 times its size). This one grows to at least
 * {@link #CUMULATION_BYTES} at once, so a batch is copied into it once.
 */
final class FrameDecoder extends LengthFieldBasedFrameDecoder {
    static final int CUMULATION_BYTES = 2 << 20;

    FrameDecoder() {
        super(Wire.MAX_FRAME_BYTES, 0, 4, 0, 4, true);
        setCumulator(FrameDecoder::cumulate);
    }

    private static ByteBuf cumulate(ByteBufAllocator alloc, ByteBuf cumulation, ByteBuf in) {
        try {
            int need = in.readableBytes();
            if (cumulation.refCnt() == 1 && !cumulation.isReadOnly() && cumulation.maxWritableBytes() >= need
                    && cumulation.writableBytes() >= need) {
                cumulation.writeBytes(in);
                return cumulation;
            }
            if (!cumulation.isReadable() && cumulation.refCnt() == 1) {   // nothing pending: keep the read buffer
                cumulation.release();
                return in.retain();
            }
            ByteBuf bigger = alloc.directBuffer(Math.max(cumulation.readableBytes() + need, CUMULATION_BYTES));
            bigger.writeBytes(cumulation).writeBytes(in);
            cumulation.release();
            return bigger;
        } finally {
            in.release();
        }
    }
}
