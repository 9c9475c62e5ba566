package io.jmigrate.engine.proc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads /proc/PID/pagemap: one 64-bit word per 4 KiB page of virtual address space, at file offset
 * {@code address / 4096 * 8}. Decode the words with {@link PagemapEntry}.
 *
 * <p>An open Pagemap keeps one channel and one read buffer, so scanning every mapping of a large process costs no
 * allocation per call. It is not thread-safe. Addresses are unsigned; ranges are widened to whole pages. Pages above
 * the end of the user address space (such as {@code [vsyscall]}) read as 0, as the kernel reports end of file there.
 */
public final class Pagemap implements AutoCloseable {
    public static final long PAGE_SIZE = 4096;
    private static final int PAGE_SHIFT = 12;
    private static final int WORD_BYTES = Long.BYTES;
    /** 64 KiB of words covers 32 MiB of address space per read: few syscalls, little memory. */
    private static final int CHUNK_BYTES = 64 * 1024;

    private final Path file;
    private final FileChannel channel;
    /** The kernel writes the words in host byte order. */
    private final ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.nativeOrder());
    private final LongBuffer chunkWords = chunk.asLongBuffer();

    private Pagemap(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    public static Pagemap open(Path pagemapFile) {
        try {
            return new Pagemap(pagemapFile, FileChannel.open(pagemapFile, StandardOpenOption.READ));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + pagemapFile, e);
        }
    }

    /** Opens /proc/PID/pagemap. Prefer {@link ProcFs#pagemap(int)}, which reports a missing process clearly. */
    public static Pagemap open(int pid) {
        return open(Path.of("/proc", Integer.toString(pid), "pagemap"));
    }

    /** One-shot read of the words for the pages covering [start, end). */
    public static long[] read(Path pagemapFile, long startAddr, long endAddr) {
        try (Pagemap pagemap = open(pagemapFile)) {
            return pagemap.read(startAddr, endAddr);
        }
    }

    public static long[] read(int pid, long startAddr, long endAddr) {
        try (Pagemap pagemap = open(pid)) {
            return pagemap.read(startAddr, endAddr);
        }
    }

    /** Number of pages (and so of words) covering [start, end). */
    public static int pageCount(long startAddr, long endAddr) {
        long first = startAddr >>> PAGE_SHIFT;
        // Rounded up without adding, which would overflow for ranges ending in the top page.
        long last = (endAddr >>> PAGE_SHIFT) + ((endAddr & (PAGE_SIZE - 1)) != 0 ? 1 : 0);
        if (Long.compareUnsigned(last, first) < 0) {
            throw new IllegalArgumentException("end 0x" + Long.toHexString(endAddr) + " is below start 0x"
                    + Long.toHexString(startAddr));
        }
        long pages = last - first;
        if (pages > Integer.MAX_VALUE) throw new IllegalArgumentException("range too large for one array: " + pages + " pages");
        return (int) pages;
    }

    /** The words for the pages covering [start, end). */
    public long[] read(long startAddr, long endAddr) {
        long[] words = new long[pageCount(startAddr, endAddr)];
        read(startAddr, words, 0, words.length);
        return words;
    }

    /** Fills {@code words[from, from + count)} with the words of {@code count} pages starting at the page of {@code startAddr}. */
    public void read(long startAddr, long[] words, int from, int count) {
        read(startAddr, LongBuffer.wrap(words, from, count));
    }

    /**
     * Fills the remaining space of {@code into} with the words of consecutive pages starting at the page of
     * {@code startAddr}; the buffer's position advances to its limit.
     */
    public void read(long startAddr, LongBuffer into) {
        long position = (startAddr >>> PAGE_SHIFT) * WORD_BYTES;
        try {
            while (into.hasRemaining()) {
                chunk.clear().limit((int) Math.min(CHUNK_BYTES, (long) into.remaining() * WORD_BYTES));
                if (!fill(position)) {
                    while (into.hasRemaining()) into.put(0L);
                    return;
                }
                int words = chunk.position() / WORD_BYTES;
                into.put(chunkWords.clear().limit(words));
                position += (long) words * WORD_BYTES;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " at offset " + position, e);
        }
    }

    /** Reads until the chunk is full or end of file; false if nothing at all could be read. */
    private boolean fill(long position) throws IOException {
        while (chunk.hasRemaining()) {
            int n = channel.read(chunk, position + chunk.position());
            if (n <= 0) break;
        }
        // The kernel only ever returns whole words; a torn word would mean a file that is not a pagemap.
        if (chunk.position() % WORD_BYTES != 0) throw new IOException(file + " returned a partial 64-bit word");
        return chunk.position() > 0;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file, e);
        }
    }
}
