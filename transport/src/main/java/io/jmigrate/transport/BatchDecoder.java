package io.jmigrate.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Decodes the body of a batch frame (after the type byte) into a {@link PageBatch}: checks the header, inflates
 * an LZ4 body into a pooled buffer, and verifies the CRC32C over header, hole bitmap and raw pages. Any mismatch is
 * a {@link CorruptBatchException}; the caller then drops the stream. Not thread-safe: one per channel.
 */
public final class BatchDecoder {
    private static final LZ4SafeDecompressor LZ4 = LZ4Factory.fastestInstance().safeDecompressor();
    private final CRC32C crc = new CRC32C();

    public PageBatch decode(ByteBuf in, ByteBufAllocator alloc) {
        if (in.readableBytes() < Wire.BATCH_HEADER_BYTES)
            throw new CorruptBatchException("page batch of " + in.readableBytes() + " bytes is shorter than its header");
        int start = in.readerIndex();
        int pid = in.readInt();
        long vaddr = in.readLong();
        int count = in.readUnsignedShort();
        int flags = in.readUnsignedShort();
        int bodyLen = in.readInt();
        int expectedCrc = in.readInt();
        if (count < 1 || count > Wire.MAX_BATCH_PAGES)
            throw new CorruptBatchException("page batch claims " + count + " pages (1 to " + Wire.MAX_BATCH_PAGES + " allowed)");
        if ((flags & ~Wire.KNOWN_FLAGS) != 0)
            throw new CorruptBatchException("page batch has unknown flags 0x" + Integer.toHexString(flags));
        int bitmapLen = Wire.bitmapBytes(count);
        if (in.readableBytes() != bitmapLen + (long) bodyLen)
            throw new CorruptBatchException("page batch body is " + (in.readableBytes() - bitmapLen) + " bytes, header says "
                    + bodyLen);
        long holes0 = 0, holes1 = 0;
        for (int b = 0; b < bitmapLen; b++) {
            long v = in.readUnsignedByte();
            if (b < 8) holes0 |= v << (b * 8); else holes1 |= v << ((b - 8) * 8);
        }
        if (count < 128) {    // bits past the last page must be clear
            long valid0 = count >= 64 ? -1L : (1L << count) - 1;
            long valid1 = count <= 64 ? 0 : (1L << (count - 64)) - 1;
            if ((holes0 & ~valid0) != 0 || (holes1 & ~valid1) != 0)
                throw new CorruptBatchException("page batch hole bitmap marks pages past its end");
        }
        int dataPages = count - Long.bitCount(holes0) - Long.bitCount(holes1);
        int rawLen = dataPages * Wire.PAGE_SIZE;

        ByteBuf data;
        if ((flags & Wire.FLAG_LZ4) != 0) {
            data = alloc.directBuffer(rawLen, rawLen);
            ByteBuf joined = null;   // the LZ4 block decoder needs its input in one piece
            try {
                ByteBuffer src;
                if (in.nioBufferCount() == 1) {
                    src = in.nioBuffer(in.readerIndex(), bodyLen);
                } else {
                    joined = alloc.directBuffer(bodyLen, bodyLen);
                    in.getBytes(in.readerIndex(), joined, bodyLen);
                    src = joined.nioBuffer(0, bodyLen);
                }
                ByteBuffer dst = data.nioBuffer(0, rawLen);
                int n = LZ4.decompress(src, 0, bodyLen, dst, 0, rawLen);
                if (n != rawLen)
                    throw new CorruptBatchException("page batch inflates to " + n + " bytes, not " + rawLen);
                data.writerIndex(rawLen);
            } catch (LZ4Exception e) {
                data.release();
                throw new CorruptBatchException("page batch body is not valid LZ4: " + e.getMessage());
            } catch (RuntimeException e) {
                data.release();
                throw e;
            } finally {
                if (joined != null) joined.release();
            }
        } else {
            if (bodyLen != rawLen)
                throw new CorruptBatchException("raw page batch holds " + bodyLen + " bytes for " + dataPages + " pages");
            data = in.retainedSlice(in.readerIndex(), bodyLen);
        }
        in.skipBytes(bodyLen);

        crc.reset();
        crc.update(in.nioBuffer(start, Wire.BATCH_CRC_HEADER_BYTES));
        crc.update(in.nioBuffer(start + Wire.BATCH_HEADER_BYTES, bitmapLen));
        if (data.nioBufferCount() == 1) {
            crc.update(data.nioBuffer(0, rawLen));
        } else {
            for (ByteBuffer b : data.nioBuffers(0, rawLen)) crc.update(b);
        }
        if ((int) crc.getValue() != expectedCrc) {
            data.release();
            throw new CorruptBatchException("page batch for pid " + pid + " at 0x" + Long.toHexString(vaddr)
                    + " failed its checksum (CRC32C " + Integer.toHexString((int) crc.getValue()) + ", sent "
                    + Integer.toHexString(expectedCrc) + ")");
        }
        return new PageBatch(pid, vaddr, count, holes0, holes1, data);
    }
}
