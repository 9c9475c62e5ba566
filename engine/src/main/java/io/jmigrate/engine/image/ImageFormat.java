package io.jmigrate.engine.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * The on-disk layout shared by every image file (see docs/image-format.md).
 *
 * <pre>
 * offset size
 *      0    8  magic "JMIGRATE"
 *      8    4  format version (u32)
 *     12    4  image kind (u32, {@link ImageKind#code()})
 *     16    8  payload length in bytes (u64)
 *     24    4  CRC32C of the payload (u32)
 *     28    4  reserved, zero
 * </pre>
 * All little-endian. Proto images: header, then the serialized message. pages-PID.img: header, zeros up to
 * {@link #PAGES_DATA_OFFSET}, then the raw pages.
 */
public final class ImageFormat {
    private ImageFormat() {}

    /** The format version this code writes and the only one it reads. */
    public static final int VERSION = 1;
    public static final int HEADER_SIZE = 32;
    public static final int PAGE_SIZE = 4096;
    /** Where page data starts in pages-PID.img: the header is padded to one page so page data stays aligned. */
    public static final long PAGES_DATA_OFFSET = PAGE_SIZE;

    static final byte[] MAGIC = "JMIGRATE".getBytes(StandardCharsets.US_ASCII);
    static final String TMP_SUFFIX = ".tmp";

    /** A decoded header; nothing is checked until {@link #check}. */
    record Header(byte[] magic, int version, int kindCode, long payloadLength, int crc32c) {

        static Header of(ImageKind kind, long payloadLength, int crc32c) {
            return new Header(MAGIC, VERSION, kind.code(), payloadLength, crc32c);
        }

        /** Writes the 32 header bytes at buffer position 0 (the buffer must hold at least 32 bytes). */
        void encode(ByteBuffer into) {
            ByteBuffer b = into.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            b.position(0);
            b.put(MAGIC).putInt(version).putInt(kindCode).putLong(payloadLength).putInt(crc32c).putInt(0);
        }

        byte[] toBytes() {
            byte[] out = new byte[HEADER_SIZE];
            encode(ByteBuffer.wrap(out));
            return out;
        }

        /**
         * Decodes and checks the first bytes of {@code file} (which is {@code fileSize} bytes long and whose first
         * {@code min(fileSize, 32)} bytes are in {@code head}) as a header of {@code expected} kind, whose payload
         * starts at {@code dataOffset}.
         */
        static Header check(Path file, ByteBuffer head, long fileSize, ImageKind expected, long dataOffset) {
            ByteBuffer b = head.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            b.position(0);
            int have = (int) Math.min(fileSize, HEADER_SIZE);
            int magicBytes = Math.min(have, MAGIC.length);   // a short file is "truncated" only if what it has matches
            byte[] magic = new byte[MAGIC.length];
            b.get(magic, 0, magicBytes);
            if (!Arrays.equals(magic, 0, magicBytes, MAGIC, 0, magicBytes))
                throw new ImageException(file + " is not a jmigrate image (bad magic)");
            if (have < HEADER_SIZE)
                throw new ImageException(file + " is truncated (expected a " + HEADER_SIZE + "-byte header, found "
                        + fileSize + " bytes)");
            Header h = new Header(magic, b.getInt(), b.getInt(), b.getLong(), b.getInt());
            if (h.version != VERSION)
                throw new ImageException(file + " was written by image format version "
                        + Integer.toUnsignedString(h.version) + "; this jmigrate reads version " + VERSION);
            if (h.kindCode != expected.code()) {
                ImageKind actual = ImageKind.ofCode(h.kindCode);
                throw new ImageException(file + " holds " + (actual == null ? "an unknown kind of image (kind "
                        + Integer.toUnsignedString(h.kindCode) + ")" : "a " + actual + " image") + ", not " + expected
                        + ": files were renamed or mixed up");
            }
            long found = fileSize - dataOffset;
            if (h.payloadLength < 0 || found < h.payloadLength)
                throw new ImageException(file + " is truncated (expected " + Long.toUnsignedString(h.payloadLength)
                        + " payload bytes, found " + Math.max(0, found) + ")");
            if (found > h.payloadLength)
                throw new ImageException(file + " has " + (found - h.payloadLength)
                        + " bytes past the end of its payload: the file is corrupt");
            return h;
        }
    }

    // ---- small I/O helpers shared by writer and reader -------------------------------------------------------

    static void readFully(FileChannel ch, ByteBuffer dst, long position, Path file) throws IOException {
        while (dst.hasRemaining()) {
            int n = ch.read(dst, position);
            if (n < 0) throw new ImageException(file + " is truncated (unexpected end of file at offset " + position + ")");
            position += n;
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer src) throws IOException {
        while (src.hasRemaining()) ch.write(src);
    }

    static void writeFully(FileChannel ch, ByteBuffer src, long position) throws IOException {
        while (src.hasRemaining()) position += ch.write(src, position);
    }

    /**
     * Replaces {@code file} with {@code parts} so that a crash leaves the old or the new content, never a mix: writes
     * FILE.tmp, fsyncs it and renames it over FILE (fsync the directory to make the rename itself durable). The
     * temporary file is removed if anything fails.
     */
    public static void replaceDurably(Path file, ByteBuffer... parts) throws IOException {
        replaceAtomically(file, true, parts);
    }

    /** As {@link #replaceDurably}, with the fsync only if {@code sync}: atomic against readers, not against crashes. */
    static void replaceAtomically(Path file, boolean sync, ByteBuffer... parts) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + TMP_SUFFIX);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                for (ByteBuffer part : parts) writeFully(ch, part);
                if (sync) ch.force(true);
            }
            java.nio.file.Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            java.nio.file.Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** fsync a directory, so the renames and unlinks in it are durable. */
    public static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            throw new ImageException("cannot fsync directory " + dir + ": " + e, e);
        }
    }

    // ---- CRC32C combination ----------------------------------------------------------------------------------

    private static final int CRC32C_POLY_REFLECTED = 0x82F63B78;
    // x^(2^n) modulo the CRC polynomial, reflected. zlib keeps 32 entries and wraps (k & 31), which holds for its
    // own polynomial but not for Castagnoli's: from 512 MiB on (2^32 bits) that gave wrong CRCs. One entry per bit
    // of a 64-bit bit count needs no wrap.
    private static final int[] X2N = new int[64];
    static {
        int p = 1 << 30;                              // x^1
        X2N[0] = p;
        for (int n = 1; n < 64; n++) X2N[n] = p = multModP(p, p);
    }

    /** a * b modulo the CRC32C polynomial (reflected bit order; a must be nonzero). */
    private static int multModP(int a, int b) {
        int m = 1 << 31, p = 0;
        for (;;) {
            if ((a & m) != 0) {
                p ^= b;
                if ((a & (m - 1)) == 0) break;
            }
            m >>>= 1;
            b = (b & 1) != 0 ? (b >>> 1) ^ CRC32C_POLY_REFLECTED : b >>> 1;
        }
        return p;
    }

    /** x^(n * 2^k) modulo the polynomial. */
    private static int x2nModP(long n, int k) {
        int p = 1 << 31;                              // x^0
        while (n != 0) {
            if ((n & 1) != 0) p = multModP(X2N[k], p);
            n >>>= 1;
            k++;
        }
        return p;
    }

    /** CRC32C of A followed by B, from CRC32C(A), CRC32C(B) and the length of B (zlib's crc32_combine). */
    static int crc32cCombine(int crcA, int crcB, long lengthB) {
        return multModP(x2nModP(lengthB, 3), crcA) ^ crcB;
    }

    /** CRC32C of a whole (small) file, such as inventory.img, to pin which image set a child was built against. */
    public static int crc32cOfFile(java.nio.file.Path file) {
        try {
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(java.nio.file.Files.readAllBytes(file));
            return (int) crc.getValue();
        } catch (java.io.IOException e) {
            throw new ImageException("cannot read " + file + ": " + e, e);
        }
    }
}
