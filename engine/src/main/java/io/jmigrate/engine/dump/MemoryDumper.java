package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.PageSink;
import io.jmigrate.engine.image.PagesWriter;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.image.proto.VmaKind;
import io.jmigrate.engine.proc.Pagemap;
import io.jmigrate.engine.proc.PagemapEntry;
import io.jmigrate.engine.sys.Mman;
import io.jmigrate.engine.sys.PagemapScan;
import io.jmigrate.engine.sys.ProcessVm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Copies the pages only the process holds: touched pages of private anonymous memory and the privately
 * modified pages of private file mappings. Untouched pages and pages mapping the shared zero page are skipped;
 * file pages come back from the file. Pages are gathered in large batches, read with one process_vm_readv per
 * 1024 runs and appended to the pages file, so the cost is two memory copies per page and few system calls.
 */
final class MemoryDumper {
    static final int BATCH_BYTES = 32 << 20;
    /** Pagemap is read a window at a time (1 GiB of address space, 2 MiB of entries), whatever the VMA's size. */
    private static final int WINDOW_PAGES = 1 << 18;
    private static final int MAX_RUNS_PER_BATCH = 8192;
    private static final long PAGE = Mman.PAGE_SIZE;

    private final int pid;
    private final long zeroPfn;
    private ByteBuffer batch;
    private final long[] ranges = new long[2 * MAX_RUNS_PER_BATCH];
    private int pendingRuns;
    private long pendingBytes;
    private boolean pendingViaProcMem;

    long pagesScanned;
    long pagesWritten;
    long pagesInParent;
    long zeroPagesSkipped;
    long scanNanos, readNanos, writeNanos;

    /** When set, the frozen process writes its own pages into the pages file (see {@link SelfWriter}). */
    private SelfWriter selfWriter;

    MemoryDumper(int pid, long zeroPfn) {
        this.pid = pid;
        this.zeroPfn = zeroPfn;
    }

    /**
     * The process itself writes its memory into the pages file with injected pwritev calls: one copy, kernel to
     * page cache, instead of process_vm_readv into our buffer and a write from there. While it writes one batch
     * we read back and checksum the previous one, so both cores work.
     *
     * @param fd      the pages file, opened inside the process
     * @param iovArea scratch memory in the process for the iovec array (16 KiB)
     */
    record SelfWriter(io.jmigrate.engine.compel.RemoteSyscalls syscalls, int fd, long iovArea) {}

    boolean selfWritten() { return selfWriter != null; }

    /** Pre-copy: present pages the parent image set has and the tracker saw unchanged are only marked in_parent. */
    private io.jmigrate.engine.precopy.PageRanges parentPresent, dirty;
    /** The process runs while we copy (pre-dump): memory that vanishes under a read is skipped, not an error. */
    private boolean running;
    private final boolean[] dropped = new boolean[MAX_RUNS_PER_BATCH];
    private final List<PageRun> parentRuns = new java.util.ArrayList<>();
    long pagesDropped;

    private io.jmigrate.engine.precopy.PageRanges.Cursor inParent, written;

    void againstParent(io.jmigrate.engine.precopy.PageRanges parentPresent, io.jmigrate.engine.precopy.PageRanges dirty) {
        this.parentPresent = parentPresent;
        this.dirty = dirty;
        this.inParent = parentPresent.cursor();       // the walk goes up through the address space
        this.written = dirty.cursor();
    }

    void whileRunning() { this.running = true; }

    private boolean leftToParent(long addr) {
        return parentPresent != null && inParent.contains(addr) && !written.contains(addr);
    }

    void writeThroughProcess(SelfWriter writer) {
        this.selfWriter = writer;
    }

    /**
     * @param empty start addresses of VMAs smaps showed with neither resident nor swapped pages: skipped without
     *              reading their pagemap (reservations of many GiB are common: JVM heaps, sanitizers, Go)
     */
    PageIndex dump(List<Vma> vmas, java.util.Set<Long> empty, PageSink pages, long dataOffset) {
        PageIndex.Builder index = PageIndex.newBuilder().setPagesFileDataOffset(dataOffset);
        long[] window = new long[WINDOW_PAGES];
        scanFd = io.jmigrate.engine.sys.Files.open("/proc/" + pid + "/pagemap", io.jmigrate.engine.sys.Files.O_RDONLY | io.jmigrate.engine.sys.Files.O_CLOEXEC);
        scanner = new PagemapScan.Scanner(4096);
        try (FileChannel procMem = FileChannel.open(Path.of("/proc", Integer.toString(pid), "mem"), StandardOpenOption.READ);
             Pagemap pagemap = Pagemap.open(pid)) {
            for (Vma vma : vmas) {
                if (!VmaCollector.holdsPrivateData(vma)) continue;
                long vmaPages = (vma.getEnd() - vma.getStart()) / PAGE;
                pagesScanned += vmaPages;
                if (empty.contains(vma.getStart())) continue;
                boolean readable = (vma.getProt() & Mman.PROT_READ) != 0;
                if (readable == pendingViaProcMem && pendingRuns > 0) flush(pages, index, procMem);
                pendingViaProcMem = !readable;
                boolean anonymous = vma.getKind() != VmaKind.VMA_FILE;
                runStart = -1;
                runKind = 0;
                if (scanFd >= 0 && scanVma(vma, anonymous, pagemap, window, pages, index, procMem)) continue;
                readWords(vma.getStart(), vma.getEnd(), anonymous, pagemap, window, pages, index, procMem);
                endRun(runKind, runStart, vma.getEnd(), pages, index, procMem);
            }
            if (pendingRuns > 0) flush(pages, index, procMem);
        } catch (IOException e) {
            throw new UncheckedIOException("reading memory of PID " + pid, e);
        } finally {
            closeScan();
        }
        if (parentRuns.isEmpty()) return index.build();
        List<PageRun> all = new java.util.ArrayList<>(index.getRunsList());
        all.addAll(parentRuns);
        all.sort((a, b) -> Long.compareUnsigned(a.getVaddr(), b.getVaddr()));
        return index.clearRuns().addAllRuns(all).build();
    }

    /** The run being built: 0 nothing to save, 1 copy, 2 left to the parent; from runStart. */
    private int runKind;
    private long runStart;

    /** /proc/PID/pagemap opened for PAGEMAP_SCAN, or -1: the kernel lacks it, so every pagemap word is read. */
    private int scanFd = -1;
    private io.jmigrate.engine.sys.PagemapScan.Scanner scanner;

    private void toKind(int kind, long addr, PageSink pages, PageIndex.Builder index, FileChannel procMem) throws IOException {
        if (kind == runKind) return;
        endRun(runKind, runStart, addr, pages, index, procMem);
        runKind = kind;
        runStart = addr;
    }

    /** Pages [from, to) by their pagemap words, one window at a time. */
    private void readWords(long from, long to, boolean anonymous, Pagemap pagemap, long[] window, PageSink pages,
                           PageIndex.Builder index, FileChannel procMem) throws IOException {
        long total = (to - from) / PAGE;
        for (long first = 0; first < total; first += WINDOW_PAGES) {
            int count = (int) Math.min(WINDOW_PAGES, total - first);
            long t0 = System.nanoTime();
            pagemap.read(from + first * PAGE, window, 0, count);
            scanNanos += System.nanoTime() - t0;
            for (int i = 0; i < count; i++) {
                long addr = from + (first + i) * PAGE;
                toKind(!worthCopying(window[i], anonymous) ? 0 : leftToParent(addr) ? 2 : 1, addr, pages, index, procMem);
            }
        }
    }

    /**
     * The VMA's present and swapped pages as ranges from PAGEMAP_SCAN instead of one pagemap word per page: a
     * present range is copied unless it maps the zero page, or, in a file VMA, is still the file's page (the same
     * tests as on pagemap words: PAGE_IS_FILE is the kernel's "page && !PageAnon" of PM_FILE). Swapped ranges
     * (which include migration entries and uffd-wp markers) are decided on their pagemap words as before.
     * False if the scan failed before it changed anything: the caller reads the words instead.
     */
    private boolean scanVma(Vma vma, boolean anonymous, Pagemap pagemap, long[] window, PageSink pages,
                            PageIndex.Builder index, FileChannel procMem) throws IOException {
        long at = vma.getStart(), end = vma.getEnd();
        while (at < end) {
            long t0 = System.nanoTime();
            int n;
            try {
                n = scanner.scan(scanFd, at, end, 0, 0, PagemapScan.PAGE_IS_PRESENT | PagemapScan.PAGE_IS_SWAPPED,
                        PagemapScan.PAGE_IS_PRESENT | PagemapScan.PAGE_IS_SWAPPED | PagemapScan.PAGE_IS_PFNZERO
                                | (anonymous ? 0 : PagemapScan.PAGE_IS_FILE));     // FILE costs a page lookup per pte
            } catch (io.jmigrate.engine.sys.ErrnoException e) {
                if (at != vma.getStart()) throw e;
                if (e.errno() == 25 || e.errno() == 22) scanFd = closeScan(); // ENOTTY, EINVAL: a kernel before 6.7
                return false;
            } finally {
                scanNanos += System.nanoTime() - t0;
            }
            for (int r = 0; r < n; r++) {
                long from = scanner.start(r), to = scanner.end(r), categories = scanner.categories(r);
                toKind(0, at, pages, index, procMem);        // the gap before it holds nothing
                if ((categories & PagemapScan.PAGE_IS_SWAPPED) != 0) {
                    readWords(from, to, anonymous, pagemap, window, pages, index, procMem);
                } else if ((categories & PagemapScan.PAGE_IS_PFNZERO) != 0) {
                    zeroPagesSkipped += (to - from) / PAGE;
                    toKind(0, from, pages, index, procMem);
                } else if (!anonymous && (categories & PagemapScan.PAGE_IS_FILE) != 0) {
                    toKind(0, from, pages, index, procMem);
                } else if (parentPresent == null) {
                    toKind(1, from, pages, index, procMem);
                } else {
                    for (long addr = from; addr < to; ) {       // by the ranges' edges, not page by page
                        toKind(leftToParent(addr) ? 2 : 1, addr, pages, index, procMem);
                        addr = Math.min(to, Math.min(inParent.nextChange(addr), written.nextChange(addr)));
                    }
                }
                at = to;
            }
            long walkEnd = scanner.walkEnd();
            toKind(0, at, pages, index, procMem);
            if (walkEnd <= at && n == 0) at = end;           // nothing more in this VMA
            else at = Math.max(at, walkEnd);
        }
        endRun(runKind, runStart, end, pages, index, procMem);
        return true;
    }

    private int closeScan() {
        if (scanner != null) scanner.close();
        if (scanFd >= 0) io.jmigrate.engine.sys.Files.closeQuietly(scanFd);
        scanner = null;
        scanFd = -1;
        return -1;
    }

    private void endRun(int kind, long start, long end, PageSink pages, PageIndex.Builder index, FileChannel procMem)
            throws IOException {
        if (kind == 1) addRun(start, end, pages, index, procMem);
        if (kind == 2) {
            parentRuns.add(PageRun.newBuilder().setVaddr(start).setNrPages((end - start) / PAGE).setInParent(true).build());
            pagesInParent += (end - start) / PAGE;
        }
    }

    private boolean worthCopying(long entry, boolean anonymousVma) {
        if (PagemapEntry.swapped(entry)) return anonymousVma || !PagemapEntry.fileOrSharedAnon(entry);
        if (!PagemapEntry.present(entry)) return false;
        if (!anonymousVma && PagemapEntry.fileOrSharedAnon(entry)) return false;   // still the file's page
        if (zeroPfn != 0 && PagemapEntry.pfn(entry) == zeroPfn) {
            zeroPagesSkipped++;
            return false;
        }
        return true;
    }

    private void addRun(long start, long end, PageSink pages, PageIndex.Builder index, FileChannel procMem) throws IOException {
        while (start < end) {
            if (pendingBytes == BATCH_BYTES || pendingRuns == MAX_RUNS_PER_BATCH) flush(pages, index, procMem);
            long len = Math.min(end - start, BATCH_BYTES - pendingBytes);
            ranges[2 * pendingRuns] = start;
            ranges[2 * pendingRuns + 1] = len;
            pendingRuns++;
            pendingBytes += len;
            start += len;
        }
    }

    private void flush(PageSink pages, PageIndex.Builder index, FileChannel procMem) throws IOException {
        long t0 = System.nanoTime();
        if (batch == null && (pendingViaProcMem || selfWriter == null)) batch = io.jmigrate.engine.sys.Mman.anonymous(BATCH_BYTES).asByteBuffer();   // zeroed as used, not while frozen
        if (batch != null) batch.clear();
        if (pendingViaProcMem) {
            // no read permission: process_vm_readv would fail, /proc/PID/mem reads with FOLL_FORCE
            for (int r = 0; r < pendingRuns; r++) {
                long addr = ranges[2 * r], len = ranges[2 * r + 1];
                ByteBuffer slice = batch.slice(batch.position(), (int) len);
                while (slice.hasRemaining()) {
                    if (procMem.read(slice, addr + slice.position()) <= 0) {
                        throw new IOException("short read of /proc/" + pid + "/mem at 0x" + Long.toHexString(addr));
                    }
                }
                batch.position(batch.position() + (int) len);
            }
            batch.flip();
        } else if (selfWriter != null) {
            PagesWriter file = (PagesWriter) pages;     // only ever set for the local pages file
            long offset = file.reserve(pendingBytes);
            writeRunsThroughProcess(file, offset);
            readNanos += System.nanoTime() - t0;
            recordRuns(index, offset);
            return;
        } else {
            try {
                ProcessVm.readRanges(pid, batch, ranges, pendingRuns);
            } catch (io.jmigrate.engine.sys.ErrnoException e) {
                if (!running) throw e;
                readRunByRun();           // the running process unmapped something: keep what is still there
            }
            batch.limit((int) pendingBytes);
        }
        long t1 = System.nanoTime();
        long offset = pages.wantsAddresses() ? appendRunByRun(pages) : pages.append(batch);
        long t2 = System.nanoTime();
        readNanos += t1 - t0;
        writeNanos += t2 - t1;
        recordRuns(index, offset);
    }

    /**
     * A sink that rebuilds the index itself (a page server) gets each run with its address; runs that vanished
     * under a running process's read are not sent, so they are not in its index either.
     */
    private long appendRunByRun(PageSink pages) {
        long first = -1;
        int at = 0;
        for (int r = 0; r < pendingRuns; r++) {
            int len = (int) ranges[2 * r + 1];
            if (!dropped[r]) {
                long offset = pages.append(ranges[2 * r], batch.slice(at, len));
                if (first < 0) first = offset;
            }
            at += len;
        }
        return first;       // recordRuns counts on from it; such a sink ignores the offsets of the index we keep
    }

    private void writeRunsThroughProcess(PagesWriter pages, long offset) {
        java.nio.ByteBuffer iov = java.nio.ByteBuffer.allocate(ProcessVm.IOV_MAX * 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long fileOffset = offset;
        for (int first = 0; first < pendingRuns; first += ProcessVm.IOV_MAX) {
            int n = Math.min(ProcessVm.IOV_MAX, pendingRuns - first);
            iov.clear();
            long total = 0;
            for (int r = first; r < first + n; r++) {
                iov.putLong(ranges[2 * r]).putLong(ranges[2 * r + 1]);
                total += ranges[2 * r + 1];
            }
            ProcessVm.writeBytes(pid, selfWriter.iovArea(), java.util.Arrays.copyOf(iov.array(), n * 16));
            selfWriter.syscalls().start(io.jmigrate.engine.sys.SyscallNumbers.PWRITEV, selfWriter.fd(),
                    selfWriter.iovArea(), n, fileOffset, 0);
            long t = System.nanoTime();
            RuntimeException absorbFailure = null;
            try {
                pages.absorbUpTo(fileOffset);       // checksum what earlier calls wrote while this one runs
            } catch (RuntimeException e) {
                absorbFailure = e;                  // the task is inside our call: collect it before giving up
            }
            writeNanos += System.nanoTime() - t;
            long written = selfWriter.syscalls().finish("pwritev of " + total + " bytes of memory");
            if (absorbFailure != null) throw absorbFailure;
            if (written != total) {
                throw new IllegalStateException("the process wrote " + written + " of " + total
                        + " bytes of its memory into the pages file (disk full?)");
            }
            fileOffset += total;
        }
    }

    private void readRunByRun() {
        long at = 0;
        for (int r = 0; r < pendingRuns; r++) {
            long len = ranges[2 * r + 1];
            ByteBuffer slice = batch.slice((int) at, (int) len);
            try {
                ProcessVm.readRanges(pid, slice, new long[]{ranges[2 * r], len}, 1);
            } catch (io.jmigrate.engine.sys.ErrnoException e) {
                dropped[r] = true;        // not in this round's index: the next round finds it new, or gone
            }
            at += len;
        }
    }

    private void recordRuns(PageIndex.Builder index, long offset) {
        for (int r = 0; r < pendingRuns; r++) {
            long len = ranges[2 * r + 1];
            if (dropped[r]) {
                dropped[r] = false;
                offset += len;
                pagesDropped += len / PAGE;
                continue;
            }
            index.addRuns(PageRun.newBuilder().setVaddr(ranges[2 * r]).setNrPages(len / PAGE).setFileOffset(offset));
            offset += len;
            pagesWritten += len / PAGE;
        }
        pendingRuns = 0;
        pendingBytes = 0;
    }
}
