package io.jmigrate.transport;

import io.netty.buffer.ByteBuf;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;

/**
 * A decoded, checksum-verified run of pages: {@code pageCount} pages of process {@code pid} starting at
 * {@code vaddr}. Pages whose bit is set in the hole bitmap are all zero and carry no bytes; {@link #data()} holds the
 * other pages' bytes, in order, uncompressed. Reference counted (it owns a pooled buffer): release it when done.
 */
public final class PageBatch extends AbstractReferenceCounted {
    private final int pid;
    private final long vaddr;
    private final int pageCount;
    private final long holes0, holes1;   // bits 0-127: page i is a hole (MAX_BATCH_PAGES = 128)
    private final ByteBuf data;

    PageBatch(int pid, long vaddr, int pageCount, long holes0, long holes1, ByteBuf data) {
        this.pid = pid;
        this.vaddr = vaddr;
        this.pageCount = pageCount;
        this.holes0 = holes0;
        this.holes1 = holes1;
        this.data = data;
    }

    public int pid() { return pid; }
    public long vaddr() { return vaddr; }
    public int pageCount() { return pageCount; }
    public long byteLength() { return (long) pageCount * Wire.PAGE_SIZE; }

    /** True if page {@code i} is all zeros and was sent as a hole. */
    public boolean isHole(int i) {
        return ((i < 64 ? holes0 >>> i : holes1 >>> (i - 64)) & 1) != 0;
    }

    public int holeCount() { return Long.bitCount(holes0) + Long.bitCount(holes1); }

    /** The bytes of the pages that are not holes, in page order. */
    public ByteBuf data() { return data; }

    /**
     * {@code len} bytes of {@link #data()} from {@code from} as buffers without copying: the data may lie in several
     * pieces (the receive buffers it arrived in).
     */
    public java.nio.ByteBuffer[] dataBuffers(int from, int len) {
        return data.nioBuffers(data.readerIndex() + from, len);
    }

    @Override
    protected void deallocate() { data.release(); }

    @Override
    public ReferenceCounted touch(Object hint) {
        data.touch(hint);
        return this;
    }

    @Override
    public String toString() {
        return "PageBatch[pid " + pid + " 0x" + Long.toHexString(vaddr) + " +" + pageCount + " pages, " + holeCount() + " holes]";
    }
}
