package io.jmigrate.pageserver;

import io.jmigrate.engine.image.ImageFormat;
import io.jmigrate.engine.image.ImageKind;
import io.jmigrate.transport.TransportException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * The image file header (docs/image-format.md), written and checked the way the engine's ImageWriter and ImageSet
 * do; the page server builds files the engine then opens with {@code ImageSet.open}.
 */
final class ImageFiles {
    private ImageFiles() {}

    static final byte[] MAGIC = "JMIGRATE".getBytes(StandardCharsets.US_ASCII);
    private static final long CRC_CHUNK = 64L << 20;

    static ByteBuffer header(ImageKind kind, long payloadLength, int payloadCrc, int size) {
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(ImageFormat.VERSION).putInt(kind.code()).putLong(payloadLength).putInt(payloadCrc).putInt(0);
        return b.clear();
    }

    /** A proto image file as bytes: header then payload. */
    static byte[] protoFile(ImageKind kind, byte[] payload) {
        CRC32C crc = new CRC32C();
        crc.update(payload);
        ByteBuffer b = ByteBuffer.allocate(ImageFormat.HEADER_SIZE + payload.length);
        b.put(header(kind, payload.length, (int) crc.getValue(), ImageFormat.HEADER_SIZE)).put(payload);
        return b.array();
    }

    /**
     * Checks a received proto image file (whole, header included) against its name: magic, version, kind, length
     * and payload CRC. Returns the payload.
     */
    static byte[] checkProtoFile(String name, byte[] file) {
        ImageKind kind = ImageKind.ofFileName(name);
        if (file.length < ImageFormat.HEADER_SIZE)
            throw new TransportException(name + " arrived truncated (" + file.length + " bytes)");
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[MAGIC.length];
        b.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) throw new TransportException(name + " is not a jmigrate image (bad magic)");
        int version = b.getInt(), code = b.getInt();
        long len = b.getLong();
        int crc = b.getInt();
        if (version != ImageFormat.VERSION)
            throw new TransportException(name + " has image format version " + version + ", this page server writes " + ImageFormat.VERSION);
        if (kind == null || code != kind.code()) throw new TransportException(name + " holds an image of kind " + code + ", not " + kind);
        if (len != file.length - ImageFormat.HEADER_SIZE)
            throw new TransportException(name + " arrived with " + (file.length - ImageFormat.HEADER_SIZE) + " payload bytes, its header says " + len);
        CRC32C c = new CRC32C();
        c.update(file, ImageFormat.HEADER_SIZE, (int) len);
        if ((int) c.getValue() != crc) throw new TransportException(name + " failed its checksum");
        return java.util.Arrays.copyOfRange(file, ImageFormat.HEADER_SIZE, file.length);
    }

    /** CRC32C of {@code length} bytes of {@code ch} from {@code from}, read through a mapping (no copy). */
    static int crc(FileChannel ch, long from, long length) throws IOException {
        CRC32C crc = new CRC32C();
        for (long done = 0; done < length; ) {
            long n = Math.min(CRC_CHUNK, length - done);
            MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, from + done, n);
            crc.update(m);
            done += n;
        }
        return (int) crc.getValue();
    }

    private static final java.lang.invoke.MethodHandle ENGINE_COMBINE;
    static {
        try {
            var m = ImageFormat.class.getDeclaredMethod("crc32cCombine", int.class, int.class, long.class);
            m.setAccessible(true);
            ENGINE_COMBINE = java.lang.invoke.MethodHandles.lookup().unreflect(m);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * The inventory checksum of a pages file, exactly as the engine's ImageWriter records it and ImageSet checks
     * it: its CRC32C combination of the header page's CRC and the payload CRC. Taken from the engine itself because
     * that combination is not the plain whole-file CRC32C for payloads of 512 MiB and more (its table of
     * x^(2^k) wraps at k = 32; see docs/transport.md), and a set must open with the engine's reader.
     */
    static int pagesInventoryCrc(int headerPageCrc, int payloadCrc, long payloadLength) {
        try {
            return (int) ENGINE_COMBINE.invokeExact(headerPageCrc, payloadCrc, payloadLength);
        } catch (Throwable e) {
            throw new IllegalStateException("engine CRC combination failed", e);
        }
    }

    static int crcOfFile(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return crc(ch, 0, ch.size());
        }
    }

    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
