package io.jmigrate.engine.check;

import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.Mman;
import io.jmigrate.engine.sys.Uffd;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.jmigrate.engine.sys.Mman.PAGE_SIZE;
import static org.junit.jupiter.api.Assertions.*;

/** The Uffd wrappers against the real kernel: results, and failures as named errnos. */
class UffdTest {
    private int fd = -1;
    private long mapping;
    private long mappingLength;

    @BeforeEach
    void open() {
        fd = WriteProtectedRegion.openUserfaultfd();
    }

    @AfterEach
    void close() {
        Files.closeQuietly(fd);
        if (mapping != 0) Mman.munmap(mapping, mappingLength);
    }

    private long map(int pages) {
        mappingLength = pages * PAGE_SIZE;
        mapping = Mman.mmap(0, mappingLength, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        return mapping;
    }

    @Test
    void apiOfferedFeaturesIncludeAsyncWriteProtect() {
        long offered = Uffd.api(fd, 0);
        assertEquals(Uffd.UFFD_FEATURE_WP_ASYNC, offered & Uffd.UFFD_FEATURE_WP_ASYNC);
        assertEquals(Uffd.UFFD_FEATURE_WP_UNPOPULATED, offered & Uffd.UFFD_FEATURE_WP_UNPOPULATED);
        assertTrue(Uffd.featureNames(offered).containsAll(List.of("WP_ASYNC", "WP_UNPOPULATED", "MOVE")),
                Uffd.featureNames(offered).toString());
    }

    @Test
    void apiTwiceFailsWithEinval() {
        Uffd.api(fd, 0);
        ErrnoException e = assertThrows(ErrnoException.class, () -> Uffd.api(fd, Uffd.UFFD_FEATURE_WP_ASYNC));
        assertEquals("EINVAL", e.errnoName());
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.operation().startsWith("ioctl(UFFDIO_API, WP_ASYNC"), e.operation());
        assertTrue(e.getMessage().contains("EINVAL"), e.getMessage());
    }

    @Test
    void apiWithUnknownFeatureFailsWithEinval() {
        ErrnoException e = assertThrows(ErrnoException.class, () -> Uffd.api(fd, 1L << 62));
        assertEquals("EINVAL", e.errnoName());
        assertTrue(e.operation().contains("bit 62"), e.operation());
    }

    @Test
    void registerNeedsPageAlignment() {
        Uffd.api(fd, 0);
        long base = map(2);
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> Uffd.register(fd, base + 1, PAGE_SIZE, Uffd.UFFDIO_REGISTER_MODE_MISSING));
        assertEquals("EINVAL", e.errnoName());
        assertTrue(e.operation().startsWith("ioctl(UFFDIO_REGISTER 0x"), e.operation());
    }

    @Test
    void writeProtectOutsideARegistrationFailsWithEnoent() {
        Uffd.api(fd, Uffd.UFFD_FEATURE_WP_ASYNC | Uffd.UFFD_FEATURE_WP_UNPOPULATED);
        long base = map(2);
        ErrnoException e = assertThrows(ErrnoException.class, () -> Uffd.writeProtect(fd, base, PAGE_SIZE, true));
        assertEquals("ENOENT", e.errnoName());
    }

    @Test
    void registerWpReturnsWriteProtectIoctlAndUnregisterWorks() {
        Uffd.api(fd, Uffd.UFFD_FEATURE_WP_ASYNC | Uffd.UFFD_FEATURE_WP_UNPOPULATED);
        long base = map(4);
        long ioctls = Uffd.register(fd, base, 4 * PAGE_SIZE, Uffd.UFFDIO_REGISTER_MODE_WP);
        assertTrue(Uffd.ioctlNames(ioctls).contains("WRITEPROTECT"), Uffd.ioctlNames(ioctls).toString());
        Uffd.writeProtect(fd, base, 4 * PAGE_SIZE, true);
        Mman.putByte(base + PAGE_SIZE, (byte) 9);           // async: resolved by the kernel, no handler needed
        assertEquals(9, Mman.getByte(base + PAGE_SIZE));
        Uffd.writeProtect(fd, base, 4 * PAGE_SIZE, false);
        Uffd.unregister(fd, base, 4 * PAGE_SIZE);
        ErrnoException e = assertThrows(ErrnoException.class, () -> Uffd.writeProtect(fd, base, PAGE_SIZE, true));
        assertEquals("ENOENT", e.errnoName());
    }

    @Test
    void copyAndZeroPageFillMissingPages() {
        Uffd.api(fd, 0);
        long dst = map(3);
        long src = Mman.mmap(0, PAGE_SIZE, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        try {
            Mman.fill(src, PAGE_SIZE, (byte) 0x5a);
            long ioctls = Uffd.register(fd, dst, 3 * PAGE_SIZE, Uffd.UFFDIO_REGISTER_MODE_MISSING);
            assertTrue(Uffd.ioctlNames(ioctls).containsAll(List.of("COPY", "ZEROPAGE", "WAKE")), Uffd.ioctlNames(ioctls).toString());
            assertEquals(PAGE_SIZE, Uffd.copy(fd, dst, src, PAGE_SIZE, 0));
            assertEquals(PAGE_SIZE, Uffd.zeroPage(fd, dst + PAGE_SIZE, PAGE_SIZE, 0));
            assertEquals(0x5a, Mman.getByte(dst));
            assertEquals(0x5a, Mman.getByte(dst + PAGE_SIZE - 1));
            assertEquals(0, Mman.getByte(dst + PAGE_SIZE));
            ErrnoException e = assertThrows(ErrnoException.class, () -> Uffd.copy(fd, dst, src, PAGE_SIZE, 0));
            assertEquals("EEXIST", e.errnoName());
            assertTrue(e.operation().startsWith("ioctl(UFFDIO_COPY 0x"), e.operation());
            ErrnoException z = assertThrows(ErrnoException.class, () -> Uffd.zeroPage(fd, dst + PAGE_SIZE, PAGE_SIZE, 0));
            assertEquals("EEXIST", z.errnoName());
            Uffd.unregister(fd, dst, 3 * PAGE_SIZE);
        } finally {
            Mman.munmap(src, PAGE_SIZE);
        }
    }

    @Test
    void featureNames() {
        assertEquals(List.of("PAGEFAULT_FLAG_WP", "EVENT_FORK", "EVENT_REMAP", "EVENT_REMOVE", "MISSING_HUGETLBFS",
                "MISSING_SHMEM", "EVENT_UNMAP", "SIGBUS", "THREAD_ID", "MINOR_HUGETLBFS", "MINOR_SHMEM",
                "EXACT_ADDRESS", "WP_HUGETLBFS_SHMEM", "WP_UNPOPULATED", "POISON", "WP_ASYNC", "MOVE"),
                Uffd.featureNames(0x1ffffL));
        assertEquals(List.of("WP_UNPOPULATED", "WP_ASYNC", "bit 40"),
                Uffd.featureNames(Uffd.UFFD_FEATURE_WP_ASYNC | Uffd.UFFD_FEATURE_WP_UNPOPULATED | 1L << 40));
        assertEquals(List.of(), Uffd.featureNames(0));
    }
}
