package io.jmigrate.pageserver;

import io.jmigrate.engine.image.ImageFormat;
import io.jmigrate.transport.TransportException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * shmem-PID.img as the page server receives it: data chunks in order, the header (kind 8, payload length and
 * CRC) written by the receiver at the last chunk; chunks out of order and data that is not whole pages refused.
 */
class ShmemFileTest {
    private static final int PAGE = 4096;

    @TempDir
    Path tmp;

    @Test
    void chunksInOrderMakeAFileWithItsHeader() throws IOException {
        RoundWriter w = new RoundWriter(tmp, "r");
        byte[] a = filled(PAGE, 1), b = filled(2 * PAGE, 2);
        w.file("shmem-7.img", 0, a, false);
        w.file("shmem-7.img", PAGE, b, true);
        byte[] file = Files.readAllBytes(w.temporaryDirectory().resolve("shmem-7.img"));
        assertEquals(ImageFormat.PAGES_DATA_OFFSET + 3 * PAGE, file.length);
        assertArrayEquals(a, Arrays.copyOfRange(file, (int) ImageFormat.PAGES_DATA_OFFSET, (int) ImageFormat.PAGES_DATA_OFFSET + PAGE));
        assertArrayEquals(b, Arrays.copyOfRange(file, (int) ImageFormat.PAGES_DATA_OFFSET + PAGE, file.length));
        ByteBuffer head = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(8, head.getInt(12), "kind: shmem");
        assertEquals(3L * PAGE, head.getLong(16), "payload length");
        w.abort("test over");
        assertFalse(Files.exists(w.temporaryDirectory()));
    }

    @Test
    void aChunkOutOfOrderOrDataThatIsNotWholePagesIsRefused() {
        RoundWriter w = new RoundWriter(tmp, "r");
        TransportException late = assertThrows(TransportException.class, () -> w.file("shmem-7.img", PAGE, filled(PAGE, 1), false));
        assertTrue(late.getMessage().contains("shmem-7.img arrived starting at offset 4096"), late.getMessage());
        w.file("shmem-8.img", 0, filled(PAGE, 1), false);
        TransportException gap = assertThrows(TransportException.class, () -> w.file("shmem-8.img", 3 * PAGE, filled(PAGE, 1), true));
        assertTrue(gap.getMessage().contains("chunk at offset 12288, expected 4096"), gap.getMessage());
        TransportException ragged = assertThrows(TransportException.class, () -> w.file("shmem-8.img", PAGE, filled(100, 2), true));
        assertTrue(ragged.getMessage().contains("not a whole number of pages"), ragged.getMessage());
        w.abort("test over");
    }

    private static byte[] filled(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (seed * 31 + i * 7);
        return b;
    }
}
