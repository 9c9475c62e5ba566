package io.jmigrate.engine.image;

import io.jmigrate.engine.image.proto.ImageFile;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Streams raw pages into pages-PID.img (as {@code pages-PID.img.tmp} until {@link #close()}).
 *
 * <p>Hot path: small appends are copied into one page-aligned native staging buffer, large native appends are
 * written straight from the caller's memory; either way the CRC32C is computed over the same buffer just before
 * it is written, in chunks that stay in cache. Nothing is allocated per append beyond a ByteBuffer view.
 *
 * <p>Not thread-safe: one thread at a time.
 */
public final class PagesWriter implements PageSink, AutoCloseable {
    /** Bytes staged before a write; also the size from which native appends bypass the staging buffer. */
    private static final int STAGING_BYTES = 2 << 20;
    /** CRC then write this much at a time, so the kernel copies data the CRC just brought into cache. */
    private static final int IO_CHUNK = 1 << 20;

    private final ImageWriter owner;
    private final String name;
    private final Path file;
    private final Path tmp;
    private final FileChannel ch;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment staging;
    private final ByteBuffer stagingBuffer;
    private final CRC32C crc = new CRC32C();
    private long payload;      // bytes appended so far, staged ones included
    private long externalPending;   // bytes reserved for another writer whose CRC is not folded in yet
    private static final long MAP_CHUNK = 64L << 20;
    private int staged;        // bytes waiting in the staging buffer
    private boolean closed;
    private boolean failed;

    PagesWriter(ImageWriter owner, String name, Path file, Path tmp) throws IOException {
        this.owner = owner;
        this.name = name;
        this.file = file;
        this.tmp = tmp;
        this.ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, StandardOpenOption.READ);   // read: regions others wrote are checksummed
        try {
            // A placeholder header page; close() writes the real one once length and CRC are known.
            ImageFormat.writeFully(ch, ByteBuffer.allocate(ImageFormat.PAGE_SIZE), 0);
            ch.position(ImageFormat.PAGES_DATA_OFFSET);
            staging = arena.allocate(STAGING_BYTES, ImageFormat.PAGE_SIZE);
            stagingBuffer = staging.asByteBuffer();
        } catch (IOException | RuntimeException e) {
            arena.close();
            ch.close();
            ImageWriter.deleteQuietly(tmp);
            throw e;
        }
    }

    /** Where the file is while it is written: another process may write reserved regions there. */
    public Path temporaryPath() { return tmp; }

    /**
     * Allocates and touches room for about {@code bytes} of pages now (writing zeros), so writes made later, while
     * the process is frozen, only overwrite memory that is already there. On a VM that backs guest memory lazily
     * the first touch of a page is what costs (measured here: 0.5 GB/s first touch, 4 GB/s overwrite), so a mere
     * fallocate is not enough. Unused room is released at close. Returns false if the room could not be written.
     */
    public boolean preallocate(long bytes) {
        if (bytes <= 0) return false;
        ByteBuffer zeros = ByteBuffer.allocateDirect(IO_CHUNK * 8);
        long at = ImageFormat.PAGES_DATA_OFFSET + payload;
        try {
            for (long done = 0; done < bytes; ) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), bytes - done));
                while (zeros.hasRemaining()) done += ch.write(zeros, at + done);
            }
            return true;
        } catch (IOException e) {
            return false;       // out of space now means the dump fails later with a clear error, not here
        }
    }

    /**
     * Reserves the next {@code len} bytes (whole pages) for another writer (the dumped process writing its own
     * memory with an injected pwritev) and returns their file offset. Their CRC is folded in by
     * {@link #absorbUpTo(long)} once written, or at the latest by the next append or close.
     */
    public long reserve(long len) {
        if (len % ImageFormat.PAGE_SIZE != 0) throw new IllegalArgumentException(name + ": reserve of " + len + " bytes");
        checkUsable();
        try {
            flushStaging();
        } catch (IOException e) {
            failed = true;
            throw new ImageException("cannot write " + tmp + ": " + e, e);
        }
        long offset = ImageFormat.PAGES_DATA_OFFSET + payload;
        payload += len;
        externalPending += len;
        try {
            ch.position(offset + len);          // our own writes continue after the reserved region
        } catch (IOException e) {
            failed = true;
            throw new ImageException("cannot write " + tmp + ": " + e, e);
        }
        return offset;
    }

    /** Reads back and checksums reserved bytes that lie before file offset {@code end} (they must be written). */
    public void absorbUpTo(long end) {
        long pendingStart = ImageFormat.PAGES_DATA_OFFSET + payload - externalPending;
        long n = Math.min(externalPending, end - pendingStart);
        if (n <= 0) return;
        try {
            // Checksummed straight from the page cache through a mapping: no copy into a buffer of ours.
            for (long done = 0; done < n; ) {
                long len = Math.min(MAP_CHUNK, n - done);
                java.nio.MappedByteBuffer view = ch.map(FileChannel.MapMode.READ_ONLY, pendingStart + done, len);
                crc.update(view);
                done += len;
            }
        } catch (IOException e) {
            failed = true;
            throw new ImageException("cannot read back " + tmp + ": " + e, e);
        }
        externalPending -= n;
    }

    /**
     * Shmem contents go into this pages file, after the process's own pages: each run is reserved, copied by the
     * kernel from the object (copy_file_range or sendfile behind transferTo) and checksummed through a mapping, as
     * for the pages the frozen process writes itself. Reading into a buffer of ours first ran at half the speed.
     */
    @Override
    public ShmemSink shmem() {
        return new ShmemSink() {
            @Override
            public long copy(FileChannel object, long position, long wanted, long length) throws IOException {
                long fileOffset = reserve(length);       // leaves our channel's position after the run
                try {
                    long copied = 0;
                    while (copied < wanted) {
                        ch.position(fileOffset + copied);
                        long n = object.transferTo(position + copied, wanted - copied, ch);
                        if (n <= 0) break;                                     // shrunk meanwhile: zeros below
                        copied += n;
                    }
                    if (copied < length) {
                        ByteBuffer zeros = ByteBuffer.allocate((int) (length - copied));
                        while (zeros.hasRemaining()) ch.write(zeros, fileOffset + copied + zeros.position());
                    }
                    ch.position(fileOffset + length);
                } catch (IOException | RuntimeException e) {
                    failed = true;
                    throw e;
                }
                absorbUpTo(fileOffset + length);
                return fileOffset;
            }

            @Override
            public boolean separateFile() { return false; }
        };
    }

    /** The final file name, pages-PID.img. */
    public String name() { return name; }

    /** Page bytes appended so far. */
    @Override
    public long bytesAppended() { return payload; }

    /**
     * Appends {@code data} (a whole number of 4096-byte pages) and returns the file offset where it starts, for
     * {@code PageRun.file_offset}. The first append lands at {@link ImageFormat#PAGES_DATA_OFFSET}.
     */
    public long append(MemorySegment data) {
        long len = data.byteSize();
        if (len % ImageFormat.PAGE_SIZE != 0)
            throw new IllegalArgumentException(name + ": cannot append " + len + " bytes, not a whole number of "
                    + ImageFormat.PAGE_SIZE + "-byte pages");
        checkUsable();
        absorbUpTo(Long.MAX_VALUE);
        long offset = ImageFormat.PAGES_DATA_OFFSET + payload;
        try {
            if (data.isNative() && len >= STAGING_BYTES) {
                flushStaging();
                for (long done = 0; done < len; ) {
                    int n = (int) Math.min(IO_CHUNK, len - done);
                    emit(data.asSlice(done, n).asByteBuffer());
                    done += n;
                }
            } else {
                for (long done = 0; done < len; ) {
                    int n = (int) Math.min(STAGING_BYTES - staged, len - done);
                    MemorySegment.copy(data, done, staging, staged, n);
                    staged += n;
                    done += n;
                    if (staged == STAGING_BYTES) flushStaging();
                }
            }
        } catch (IOException | RuntimeException e) {
            failed = true;
            if (e instanceof RuntimeException r) throw r;
            throw new ImageException("cannot write " + tmp + ": " + e, e);
        }
        payload += len;
        return offset;
    }

    /** Appends the buffer's remaining bytes (a whole number of pages), consuming them; see {@link #append(MemorySegment)}. */
    @Override
    public long append(ByteBuffer data) {
        long offset = append(MemorySegment.ofBuffer(data));
        data.position(data.limit());
        return offset;
    }

    /**
     * Completes the file: writes what is staged, patches the header with the payload length and CRC32C, fsyncs and
     * renames it to pages-PID.img. If a write failed earlier, or the image writer was aborted, the temporary file is
     * deleted instead. Idempotent.
     */
    @Override
    public void close() {
        if (closed) return;
        if (failed) {
            discard();
            return;
        }
        closed = true;
        ImageFile record = null;
        try {
            flushStaging();
            absorbUpTo(Long.MAX_VALUE);
            ch.truncate(ImageFormat.PAGES_DATA_OFFSET + payload);      // drops preallocated room left unused
            int payloadCrc = (int) crc.getValue();
            ByteBuffer head = ByteBuffer.allocate(ImageFormat.PAGE_SIZE);
            ImageFormat.Header.of(ImageKind.PAGES, payload, payloadCrc).encode(head);
            CRC32C headCrc = new CRC32C();
            headCrc.update(head.duplicate());
            ImageFormat.writeFully(ch, head, 0);
            if (owner.durable()) ch.force(true);
            ch.close();
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            record = ImageFile.newBuilder().setName(name).setSize(ImageFormat.PAGES_DATA_OFFSET + payload)
                    .setCrc32C(ImageFormat.crc32cCombine((int) headCrc.getValue(), payloadCrc, payload)).build();
        } catch (IOException e) {
            closeChannelQuietly();
            ImageWriter.deleteQuietly(tmp);
            throw new ImageException("cannot write " + file + ": " + e, e);
        } finally {
            arena.close();
            owner.pagesClosed(this, record);
        }
    }

    /** Closes without completing: deletes the temporary file. */
    void discard() {
        if (closed) return;
        closed = true;
        closeChannelQuietly();
        ImageWriter.deleteQuietly(tmp);
        arena.close();
        owner.pagesClosed(this, null);
    }

    private void checkUsable() {
        if (closed) throw new IllegalStateException(name + " is already closed");
        if (failed) throw new IllegalStateException(name + ": an earlier write failed");
    }

    private void flushStaging() throws IOException {
        if (staged == 0) return;
        for (int done = 0; done < staged; ) {
            int n = Math.min(IO_CHUNK, staged - done);
            emit(stagingBuffer.slice(done, n));
            done += n;
        }
        staged = 0;
    }

    /** CRC, then write, one chunk (a fresh view whose position is 0). */
    private void emit(ByteBuffer chunk) throws IOException {
        crc.update(chunk);
        chunk.position(0);
        ImageFormat.writeFully(ch, chunk);
    }

    private void closeChannelQuietly() {
        try { ch.close(); } catch (IOException ignored) { /* cleanup path */ }
    }
}
