package io.jmigrate.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Turns up to {@link Wire#MAX_BATCH_PAGES} pages into one batch frame (length prefix included), ready to write.
 *
 * <p>Zero pages become holes (a bit in the bitmap, no bytes). The other pages are copied once into the frame
 * buffer (pooled, direct), checksummed there, and LZ4-compressed into a scratch buffer; the compressed block
 * replaces them only if it saves at least 1/8. After an incompressible batch the next few skip the attempt, so
 * random memory costs one copy and one checksum. Nothing is allocated per page.
 *
 * <p>Not thread-safe: one per sending thread.
 */
public final class BatchEncoder {
    private static final MemorySegment ZERO_PAGE = Arena.global().allocate(Wire.PAGE_SIZE, Wire.PAGE_SIZE);
    /** Batches sent raw without trying LZ4 after one that did not compress. */
    private static final int SKIP_AFTER_INCOMPRESSIBLE = 4;

    private final LZ4Compressor lz4;
    private final ByteBuffer scratch;
    private final CRC32C crc = new CRC32C();
    private int skipCompression;

    private long pagesIn, holesOut, bytesOut;

    private final boolean holes;

    /** @param compress false sends every batch raw (holes are still holes) */
    public BatchEncoder(boolean compress) {
        this(compress, true);
    }

    /** @param holes false sends zero pages as bytes too (only for baseline measurements) */
    public BatchEncoder(boolean compress, boolean holes) {
        this.holes = holes;
        this.lz4 = compress ? LZ4Factory.fastestInstance().fastCompressor() : null;
        this.scratch = compress
                ? ByteBuffer.allocateDirect(lz4.maxCompressedLength(Wire.MAX_BATCH_PAGES * Wire.PAGE_SIZE)) : null;
    }

    /**
     * Encodes {@code pages} (a whole number of pages, at most {@link Wire#MAX_BATCH_PAGES}) as the pages of
     * {@code pid} at {@code vaddr}. The returned frame owns a pooled buffer: write it (the channel releases it).
     */
    public ByteBuf encode(ByteBufAllocator alloc, int pid, long vaddr, MemorySegment pages) {
        return encode(alloc, pid, vaddr, pages, true);
    }

    /** As above; {@code tryCompress} false sends this batch raw (the caller's {@link CompressionGovernor} said so). */
    public ByteBuf encode(ByteBufAllocator alloc, int pid, long vaddr, MemorySegment pages, boolean tryCompress) {
        long size = pages.byteSize();
        if (size == 0 || size % Wire.PAGE_SIZE != 0 || size > (long) Wire.MAX_BATCH_PAGES * Wire.PAGE_SIZE)
            throw new IllegalArgumentException("a batch is 1 to " + Wire.MAX_BATCH_PAGES + " whole pages, not " + size + " bytes");
        if ((vaddr & (Wire.PAGE_SIZE - 1)) != 0)
            throw new IllegalArgumentException("vaddr 0x" + Long.toHexString(vaddr) + " is not page-aligned");
        int count = (int) (size / Wire.PAGE_SIZE);
        int bitmapLen = Wire.bitmapBytes(count);

        long holes0 = 0, holes1 = 0;
        int dataPages = 0;
        for (int i = 0; i < count; i++) {
            long at = (long) i * Wire.PAGE_SIZE;
            if (holes && MemorySegment.mismatch(pages, at, at + Wire.PAGE_SIZE, ZERO_PAGE, 0, Wire.PAGE_SIZE) == -1) {
                if (i < 64) holes0 |= 1L << i; else holes1 |= 1L << (i - 64);
            } else {
                dataPages++;
            }
        }
        int rawLen = dataPages * Wire.PAGE_SIZE;
        int headerStart = 5;                                 // after length u32 and type u8
        int bodyStart = headerStart + Wire.BATCH_HEADER_BYTES + bitmapLen;
        ByteBuf frame = alloc.directBuffer(bodyStart + rawLen);
        try {
            frame.writeInt(0).writeByte(Wire.TYPE_BATCH)
                    .writeInt(pid).writeLong(vaddr).writeShort(count).writeShort(0).writeInt(0).writeInt(0);
            for (int b = 0; b < bitmapLen; b++) {
                long word = b < 8 ? holes0 : holes1;
                frame.writeByte((int) (word >>> ((b & 7) * 8)));
            }
            // copy the data pages, contiguous runs at a time
            ByteBuffer body = frame.nioBuffer(bodyStart, rawLen);
            MemorySegment dst = MemorySegment.ofBuffer(body);
            long out = 0;
            for (int i = 0; i < count; ) {
                if (isHole(holes0, holes1, i)) { i++; continue; }
                int j = i;
                while (j < count && !isHole(holes0, holes1, j)) j++;
                long len = (long) (j - i) * Wire.PAGE_SIZE;
                MemorySegment.copy(pages, (long) i * Wire.PAGE_SIZE, dst, out, len);
                out += len;
                i = j;
            }
            crc.reset();
            crc.update(frame.nioBuffer(headerStart, Wire.BATCH_CRC_HEADER_BYTES));
            crc.update(frame.nioBuffer(headerStart + Wire.BATCH_HEADER_BYTES, bitmapLen));
            crc.update(body.duplicate());

            int flags = 0, bodyLen = rawLen;
            if (lz4 != null && tryCompress && rawLen > 0) {
                if (skipCompression > 0) {
                    skipCompression--;
                } else {
                    int n = lz4.compress(body, 0, rawLen, scratch, 0, scratch.capacity());
                    if (n <= rawLen - rawLen / 8) {
                        frame.setBytes(bodyStart, scratch.duplicate().position(0).limit(n));
                        flags = Wire.FLAG_LZ4;
                        bodyLen = n;
                    } else {
                        skipCompression = SKIP_AFTER_INCOMPRESSIBLE;
                    }
                }
            }
            frame.writerIndex(bodyStart + bodyLen);
            frame.setInt(0, frame.readableBytes() - 4);
            frame.setShort(headerStart + 14, flags);
            frame.setInt(headerStart + 16, bodyLen);
            frame.setInt(headerStart + 20, (int) crc.getValue());
            pagesIn += count;
            holesOut += count - dataPages;
            bytesOut += frame.readableBytes();
            return frame;
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }

    static boolean isHole(long holes0, long holes1, int i) {
        return ((i < 64 ? holes0 >>> i : holes1 >>> (i - 64)) & 1) != 0;
    }

    /** Pages encoded so far. */
    public long pagesIn() { return pagesIn; }
    /** Of those, zero pages sent as holes. */
    public long holesOut() { return holesOut; }
    /** Frame bytes produced (what goes on the wire before TLS). */
    public long bytesOut() { return bytesOut; }
}
