package io.jmigrate.engine.check;

import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.Mman;
import io.jmigrate.engine.sys.Uffd;

/**
 * An anonymous private mapping of our own, registered with a fresh userfaultfd in write-protect async mode: the
 * setup uffd-wp dirty tracking relies on, small enough to probe with. Writes to protected pages are resolved by
 * the kernel (WP_ASYNC), so nothing has to read the userfaultfd.
 */
final class WriteProtectedRegion implements AutoCloseable {
    static final long REQUIRED_FEATURES = Uffd.UFFD_FEATURE_WP_ASYNC | Uffd.UFFD_FEATURE_WP_UNPOPULATED;

    private final long base;
    private final long length;
    private final int uffd;
    private final long ioctls;

    private WriteProtectedRegion(long base, long length, int uffd, long ioctls) {
        this.base = base;
        this.length = length;
        this.uffd = uffd;
        this.ioctls = ioctls;
    }

    /** Maps {@code pages} pages (touching them all first if {@code populate}) and registers them WP, unprotected. */
    static WriteProtectedRegion create(int pages, boolean populate) {
        long length = pages * Mman.PAGE_SIZE;
        long base = Mman.mmap(0, length, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS,
                -1, 0);
        int fd = -1;
        try {
            if (populate) Mman.fill(base, length, (byte) 1);
            fd = openUserfaultfd();
            Uffd.api(fd, REQUIRED_FEATURES);
            long ioctls = Uffd.register(fd, base, length, Uffd.UFFDIO_REGISTER_MODE_WP);
            if ((ioctls & (1L << Uffd._UFFDIO_WRITEPROTECT)) == 0) {
                throw new IllegalStateException("UFFDIO_REGISTER in WP mode does not allow UFFDIO_WRITEPROTECT (allows "
                        + Uffd.ioctlNames(ioctls) + ")");
            }
            return new WriteProtectedRegion(base, length, fd, ioctls);
        } catch (RuntimeException e) {
            Files.closeQuietly(fd);
            Mman.munmap(base, length);
            throw e;
        }
    }

    /**
     * A userfaultfd for our own memory: O_CLOEXEC | O_NONBLOCK, falling back to UFFD_USER_MODE_ONLY where
     * vm.unprivileged_userfaultfd refuses a full one (enough for memory we only touch from user space).
     */
    static int openUserfaultfd() {
        try {
            return Uffd.userfaultfd(Uffd.O_CLOEXEC | Uffd.O_NONBLOCK);
        } catch (ErrnoException e) {
            if (!e.is(Errno.EPERM)) throw e;
            return Uffd.userfaultfd(Uffd.O_CLOEXEC | Uffd.O_NONBLOCK | Uffd.UFFD_USER_MODE_ONLY);
        }
    }

    void protectAll() { Uffd.writeProtect(uffd, base, length, true); }

    void write(int page, byte value) { Mman.putByte(page(page), value); }

    long page(int index) { return base + index * Mman.PAGE_SIZE; }

    long base() { return base; }

    long end() { return base + length; }

    int pages() { return (int) (length / Mman.PAGE_SIZE); }

    int uffd() { return uffd; }

    long ioctls() { return ioctls; }

    /** Closing the userfaultfd drops the registration; then the mapping goes. */
    @Override public void close() {
        Files.closeQuietly(uffd);
        Mman.munmap(base, length);
    }
}
