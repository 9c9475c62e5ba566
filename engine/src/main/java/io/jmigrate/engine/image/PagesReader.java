package io.jmigrate.engine.image;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads page data from a verified pages-PID.img, at the file offsets its PageIndex gives. Positional reads, so one
 * reader may serve several threads.
 */
public final class PagesReader implements AutoCloseable {
    private static final int MAX_CHUNK = 1 << 30;

    private final Path file;
    private final FileChannel ch;
    private final long dataLength;

    PagesReader(Path file, long dataLength) {
        this.file = file;
        this.dataLength = dataLength;
        try {
            this.ch = FileChannel.open(file, StandardOpenOption.READ);
            long expected = ImageFormat.PAGES_DATA_OFFSET + dataLength;
            long size = ch.size();
            if (size != expected) {
                ch.close();
                throw new ImageException(file + " is " + size + " bytes, was " + expected
                        + " when the image set was opened: it changed since");
            }
        } catch (IOException e) {
            throw new ImageException("cannot open " + file + ": " + e, e);
        }
    }

    public Path path() { return file; }

    /** Where page data starts: {@link ImageFormat#PAGES_DATA_OFFSET}. */
    public long dataOffset() { return ImageFormat.PAGES_DATA_OFFSET; }

    /** Bytes of page data after {@link #dataOffset()}. */
    public long dataLength() { return dataLength; }

    /** Reads {@code len} bytes at {@code fileOffset} into the start of {@code dst}. */
    public void read(long fileOffset, MemorySegment dst, long len) {
        if (len > dst.byteSize())
            throw new IllegalArgumentException("cannot read " + len + " bytes into a " + dst.byteSize() + "-byte segment");
        checkRange(fileOffset, len);
        try {
            for (long done = 0; done < len; ) {
                int n = (int) Math.min(MAX_CHUNK, len - done);
                ImageFormat.readFully(ch, dst.asSlice(done, n).asByteBuffer(), fileOffset + done, file);
                done += n;
            }
        } catch (IOException e) {
            throw new ImageException("cannot read " + file + ": " + e, e);
        }
    }

    /** Fills {@code dst}'s remaining bytes from {@code fileOffset}, advancing its position. */
    public void read(long fileOffset, ByteBuffer dst) {
        checkRange(fileOffset, dst.remaining());
        try {
            ImageFormat.readFully(ch, dst, fileOffset, file);
        } catch (IOException e) {
            throw new ImageException("cannot read " + file + ": " + e, e);
        }
    }

    /** Maps the page data read-only, for as long as {@code arena} lives; offset 0 is file offset {@link #dataOffset()}. */
    public MemorySegment mapData(Arena arena) {
        try {
            return ch.map(FileChannel.MapMode.READ_ONLY, ImageFormat.PAGES_DATA_OFFSET, dataLength, arena);
        } catch (IOException e) {
            throw new ImageException("cannot map " + file + ": " + e, e);
        }
    }

    private void checkRange(long fileOffset, long len) {
        long end = ImageFormat.PAGES_DATA_OFFSET + dataLength;
        if (len < 0 || fileOffset < ImageFormat.PAGES_DATA_OFFSET || fileOffset > end || len > end - fileOffset)
            throw new IllegalArgumentException(file + ": " + len + " bytes at offset " + fileOffset
                    + " are outside its page data [" + ImageFormat.PAGES_DATA_OFFSET + ", " + end + ")");
    }

    @Override
    public void close() {
        try {
            ch.close();
        } catch (IOException e) {
            throw new ImageException("cannot close " + file + ": " + e, e);
        }
    }
}
