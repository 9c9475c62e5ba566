package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import io.jmigrate.engine.sys.Mman;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PagemapTest {
    private static final long PAGE = Pagemap.PAGE_SIZE;

    /** A fake pagemap whose word for page i is i + 1, so a misplaced read shows as a wrong number. */
    private static Path fakePagemap(Path dir, int words) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(words * 8).order(ByteOrder.nativeOrder());
        for (int i = 0; i < words; i++) bytes.putLong(i + 1L);
        Path file = dir.resolve("pagemap");
        Files.write(file, bytes.array());
        return file;
    }

    @Test
    void readsAcrossChunksAndZeroFillsPastTheEnd(@TempDir Path dir) throws IOException {
        Path file = fakePagemap(dir, 20_000);
        long[] words = Pagemap.read(file, 100 * PAGE, 20_100 * PAGE);
        assertEquals(20_000, words.length);
        for (int i = 0; i < 19_900; i++) assertEquals(100 + i + 1, words[i], "page " + (100 + i));
        for (int i = 19_900; i < 20_000; i++) assertEquals(0, words[i], "page " + (100 + i) + " is past the end");
    }

    @Test
    void widensUnalignedRangesToWholePages(@TempDir Path dir) throws IOException {
        Path file = fakePagemap(dir, 16);
        assertArrayEquals(new long[] {6, 7, 8}, Pagemap.read(file, 5 * PAGE + 10, 7 * PAGE + 1));
        assertArrayEquals(new long[0], Pagemap.read(file, 3 * PAGE, 3 * PAGE));
        assertEquals(1, Pagemap.pageCount(0xfffffffffffff000L, 0xffffffffffffffffL));
        assertThrows(IllegalArgumentException.class, () -> Pagemap.pageCount(2 * PAGE, PAGE));
    }

    @Test
    void fillsCallerBuffersWithoutTouchingTheRest(@TempDir Path dir) throws IOException {
        Path file = fakePagemap(dir, 16);
        try (Pagemap pagemap = Pagemap.open(file)) {
            LongBuffer buffer = LongBuffer.wrap(new long[10]);
            Arrays.fill(buffer.array(), -7);
            buffer.position(2).limit(8);
            pagemap.read(3 * PAGE, buffer);
            assertEquals(8, buffer.position());
            assertArrayEquals(new long[] {-7, -7, 4, 5, 6, 7, 8, 9, -7, -7}, buffer.array());

            long[] array = new long[5];
            pagemap.read(14 * PAGE, array, 1, 4);   // pages 14, 15, then two past the end
            assertArrayEquals(new long[] {0, 15, 16, 0, 0}, array);
        }
    }

    /** A fresh anonymous mapping has no pages until one is written; then exactly that one is present and private. */
    @Test
    void livePagemapSeesTheTouchedPageOnly() {
        int pages = 16;
        long address = Mman.mmap(0, pages * PAGE, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        try {
            MemorySegment.ofAddress(address).reinterpret(pages * PAGE).set(ValueLayout.JAVA_BYTE, 3 * PAGE + 5, (byte) 1);
            long[] words = Pagemap.read(Path.of("/proc/self/pagemap"), address, address + pages * PAGE);
            assertEquals(pages, words.length);
            for (int i = 0; i < pages; i++) {
                assertEquals(i == 3, PagemapEntry.present(words[i]), "page " + i + ": " + PagemapEntry.describe(words[i]));
            }
            assertFalse(PagemapEntry.fileOrSharedAnon(words[3]));
            assertTrue(PagemapEntry.exclusive(words[3]));
        } finally {
            Mman.munmap(address, pages * PAGE);
        }
    }

    @Test
    void livePagemapOfADirectBuffer() {
        ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
        buffer.put(40_000, (byte) 42);
        long touched = MemorySegment.ofBuffer(buffer).address() + 40_000;
        try (Pagemap pagemap = new ProcFs().pagemap((int) ProcessHandle.current().pid())) {
            long[] word = new long[1];
            pagemap.read(touched, word, 0, 1);
            assertTrue(PagemapEntry.present(word[0]), PagemapEntry.describe(word[0]));
            boolean sysAdmin = ProcStatus.hasCapability(new ProcFs().status((int) ProcessHandle.current().pid()).capEff(), 21);
            assertEquals(sysAdmin, PagemapEntry.pfn(word[0]) != 0, "PFNs are shown exactly to CAP_SYS_ADMIN");
        }
    }

    @Test
    void vsyscallIsPastTheEndOfUserMemory() {
        long[] words = Pagemap.read(Path.of("/proc/self/pagemap"), 0xffffffffff600000L, 0xffffffffff601000L);
        assertArrayEquals(new long[] {0}, words);
    }
}
