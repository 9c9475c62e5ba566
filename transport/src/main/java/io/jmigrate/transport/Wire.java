package io.jmigrate.transport;

/**
 * Constants of the wire protocol (docs/transport.md). A frame is {@code u32 length} (of what follows), {@code u8
 * type}, then a protobuf {@code Control} message or a page batch. All integers are big-endian.
 */
public final class Wire {
    private Wire() {}

    public static final int PROTOCOL_VERSION = 1;
    public static final int PAGE_SIZE = 4096;

    public static final byte TYPE_CONTROL = 1;
    public static final byte TYPE_BATCH = 2;

    /** Pages per batch at most (512 KiB) that a receiver accepts. */
    public static final int MAX_BATCH_PAGES = 128;
    /**
     * Pages per batch a sender makes: the most a receiver accepts. Per-batch costs (a task hand-off, a write and its
     * listener, a slice and a checksum set-up on each side) outweighed cache locality: bench-transport, TLS + zero
     * holes, 3 GiB: 6.2 CPU-s with 128 pages against 6.9 with 64 and 7.2 with 32 (two runs each).
     */
    public static final int SEND_BATCH_PAGES = MAX_BATCH_PAGES;
    /** Control frames above this are split by the sender (file chunks); bounds what a receiver buffers per stream. */
    public static final int MAX_CONTROL_BYTES = 4 << 20;
    /** The largest frame a receiver accepts: anything bigger is a protocol error and closes the stream. */
    public static final int MAX_FRAME_BYTES = MAX_CONTROL_BYTES + 64 * 1024;

    /** Batch header after the type byte: pid u32, vaddr u64, pages u16, flags u16, body length u32, crc32c u32. */
    public static final int BATCH_HEADER_BYTES = 24;
    /** The CRC covers pid, vaddr and page count (the first 14 header bytes), the hole bitmap and the raw pages. */
    public static final int BATCH_CRC_HEADER_BYTES = 14;

    /** Body is one LZ4 block of the non-hole pages; without it the body is those pages raw. */
    public static final int FLAG_LZ4 = 1;
    public static final int KNOWN_FLAGS = FLAG_LZ4;

    /** Default bytes a stream may have queued for the socket before its sender waits (per stream). */
    public static final int DEFAULT_IN_FLIGHT_BYTES = 8 << 20;

    public static int bitmapBytes(int pages) { return (pages + 7) >>> 3; }
}
