package io.jmigrate.engine.check;

import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.Mman;
import io.jmigrate.engine.sys.PagemapScan;
import io.jmigrate.engine.sys.PagemapScan.Scanner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

import static io.jmigrate.engine.sys.Mman.PAGE_SIZE;
import static io.jmigrate.engine.sys.PagemapScan.*;
import static org.junit.jupiter.api.Assertions.*;

/** PAGEMAP_SCAN over uffd-wp async mappings of our own: what dirty tracking will do every pre-dump pass. */
class PagemapScanTest {
    private static final long WP_FLAGS = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
    private int pagemap = -1;

    @BeforeEach
    void openPagemap() {
        pagemap = Files.open("/proc/self/pagemap", Files.O_RDONLY | Files.O_CLOEXEC);
    }

    @AfterEach
    void closePagemap() {
        Files.closeQuietly(pagemap);
    }

    private int scanWritten(Scanner scanner, long start, long end) {
        return scanner.scan(pagemap, start, end, WP_FLAGS, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN);
    }

    @Test
    void exactlyTheWrittenPageThenNothingOnceReprotected() {
        try (WriteProtectedRegion region = WriteProtectedRegion.create(16, true); Scanner scanner = new Scanner(8)) {
            region.protectAll();
            assertEquals(0, scanWritten(scanner, region.base(), region.end()), "nothing written since protecting");
            region.write(5, (byte) 2);
            assertEquals(1, scanWritten(scanner, region.base(), region.end()));
            assertEquals(region.page(5), scanner.start(0));
            assertEquals(region.page(6), scanner.end(0));
            assertEquals(PAGE_IS_WRITTEN, scanner.categories(0));
            assertEquals(1, scanner.pages(0));
            assertEquals(region.end(), scanner.walkEnd());
            assertEquals(0, scanWritten(scanner, region.base(), region.end()), "the first scan re-protected page 5");
            assertEquals(0, scanner.count());
            region.write(5, (byte) 3);
            assertEquals(1, scanWritten(scanner, region.base(), region.end()), "page 5 is tracked again");
        }
    }

    @Test
    void unpopulatedPagesCountAsProtected() {
        try (WriteProtectedRegion region = WriteProtectedRegion.create(16, false); Scanner scanner = new Scanner(8)) {
            region.protectAll();
            region.write(0, (byte) 1);
            region.write(1, (byte) 1);
            region.write(15, (byte) 1);
            assertEquals(2, scanWritten(scanner, region.base(), region.end()));
            assertEquals(List.of(region.page(0), region.page(2), region.page(15), region.end()),
                    List.of(scanner.start(0), scanner.end(0), scanner.start(1), scanner.end(1)));
            assertEquals(3, scanner.totalPages());
        }
    }

    @Test
    void aFullVectorStopsTheWalkAndTheCallerResumesFromWalkEnd() {
        try (WriteProtectedRegion region = WriteProtectedRegion.create(16, true); Scanner scanner = new Scanner(1)) {
            region.protectAll();
            int[] written = {2, 9, 13};
            for (int page : written) region.write(page, (byte) 4);
            List<Long> found = new ArrayList<>();
            long cursor = region.base();
            int calls = 0;
            while (cursor < region.end()) {
                int n = scanWritten(scanner, cursor, region.end());
                assertTrue(n <= 1);
                for (int i = 0; i < n; i++) found.add((scanner.start(i) - region.base()) / PAGE_SIZE);
                assertTrue(scanner.walkEnd() > cursor, "walk made progress");
                cursor = scanner.walkEnd();
                calls++;
            }
            assertEquals(List.of(2L, 9L, 13L), found);
            assertTrue(calls >= 3, "one region per call with a one-entry vector, got " + calls + " calls");
            assertEquals(0, scanWritten(scanner, region.base(), region.end()), "every found page was re-protected");
        }
    }

    @Test
    void presentPagesWithoutWriteProtect() {
        long len = 8 * PAGE_SIZE;
        long base = Mman.mmap(0, len, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        try (Scanner scanner = new Scanner(8)) {
            Mman.putByte(base + 3 * PAGE_SIZE, (byte) 1);
            Mman.putByte(base + 4 * PAGE_SIZE, (byte) 1);
            assertEquals(1, scanner.scan(pagemap, base, base + len, 0, PAGE_IS_PRESENT, 0, PAGE_IS_PRESENT));
            assertEquals(base + 3 * PAGE_SIZE, scanner.start(0));
            assertEquals(base + 5 * PAGE_SIZE, scanner.end(0));
            assertEquals(List.of("PRESENT"), PagemapScan.categoryNames(scanner.categories(0)));
            assertThrows(IndexOutOfBoundsException.class, () -> scanner.start(1));
        } finally {
            Mman.munmap(base, len);
        }
    }

    @Test
    void checkWpAsyncOnAPlainMappingFailsWithEperm() {
        long len = 4 * PAGE_SIZE;
        long base = Mman.mmap(0, len, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        try (Scanner scanner = new Scanner(4)) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> scanWritten(scanner, base, base + len));
            assertEquals("EPERM", e.errnoName());
            assertTrue(e.operation().startsWith("ioctl(PAGEMAP_SCAN, 0x"), e.operation());
            assertEquals(0, scanner.count());
        } finally {
            Mman.munmap(base, len);
        }
    }

    /**
     * Steady state, once the JIT has compiled the path (escape analysis removes what the interpreter allocates):
     * the best of several rounds must allocate nothing. An Arena or a String per call would show in every round.
     */
    @Test
    void scanningAllocatesNothingOnTheJavaHeapOnceCompiled() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        try (WriteProtectedRegion region = WriteProtectedRegion.create(16, true); Scanner scanner = new Scanner(8)) {
            region.protectAll();
            int calls = 10_000;
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 60 && best > 0; round++) {
                long before = threads.getThreadAllocatedBytes(tid);
                int found = 0;
                for (int i = 0; i < calls; i++) {
                    region.write(i & 15, (byte) i);
                    found += scanWritten(scanner, region.base(), region.end());
                }
                best = Math.min(best, threads.getThreadAllocatedBytes(tid) - before);
                assertEquals(calls, found, "each scan finds the one page written before it");
            }
            assertEquals(0, best, "bytes allocated by " + calls + " scans in the best round");
        }
    }

    @Test
    void layoutsMatchTheKernelStructs() {
        assertEquals(96, PM_SCAN_ARG.byteSize());
        assertEquals(24, PAGE_REGION.byteSize());
        assertEquals(List.of("WPALLOWED", "WRITTEN", "GUARD", "bit 9"),
                PagemapScan.categoryNames(PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN | PAGE_IS_GUARD | 1L << 9));
    }
}
