package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.PagesWriter;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.image.proto.VmaKind;
import io.jmigrate.engine.proc.Pagemap;
import io.jmigrate.engine.proc.PagemapEntry;
import io.jmigrate.engine.sys.Mman;
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
    private static final int MAX_RUNS_PER_BATCH = 8192;
    private static final long PAGE = Mman.PAGE_SIZE;

    private final int pid;
    private final long zeroPfn;
    private final ByteBuffer batch = ByteBuffer.allocateDirect(BATCH_BYTES);
    private final long[] ranges = new long[2 * MAX_RUNS_PER_BATCH];
    private int pendingRuns;
    private long pendingBytes;
    private boolean pendingViaProcMem;

    long pagesScanned;
    long pagesWritten;
    long zeroPagesSkipped;
    long scanNanos, readNanos, writeNanos;

    MemoryDumper(int pid, long zeroPfn) {
        this.pid = pid;
        this.zeroPfn = zeroPfn;
    }

    PageIndex dump(List<Vma> vmas, PagesWriter pages, long dataOffset) {
        PageIndex.Builder index = PageIndex.newBuilder().setPagesFileDataOffset(dataOffset);
        try (FileChannel procMem = FileChannel.open(Path.of("/proc", Integer.toString(pid), "mem"), StandardOpenOption.READ)) {
            for (Vma vma : vmas) {
                if (!VmaCollector.holdsPrivateData(vma)) continue;
                boolean readable = (vma.getProt() & Mman.PROT_READ) != 0;
                if (readable == pendingViaProcMem && pendingRuns > 0) flush(pages, index, procMem);
                pendingViaProcMem = !readable;
                long t0 = System.nanoTime();
                long[] entries = Pagemap.read(pid, vma.getStart(), vma.getEnd());
                scanNanos += System.nanoTime() - t0;
                boolean anonymous = vma.getKind() != VmaKind.VMA_FILE;
                long runStart = -1;
                for (int i = 0; i <= entries.length; i++) {
                    boolean take = i < entries.length && worthCopying(entries[i], anonymous);
                    if (i < entries.length) pagesScanned++;
                    if (take) {
                        if (runStart < 0) runStart = vma.getStart() + i * PAGE;
                        continue;
                    }
                    if (runStart >= 0) {
                        addRun(runStart, vma.getStart() + i * PAGE, pages, index, procMem);
                        runStart = -1;
                    }
                }
            }
            if (pendingRuns > 0) flush(pages, index, procMem);
        } catch (IOException e) {
            throw new UncheckedIOException("reading memory of PID " + pid, e);
        }
        return index.build();
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

    private void addRun(long start, long end, PagesWriter pages, PageIndex.Builder index, FileChannel procMem) throws IOException {
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

    private void flush(PagesWriter pages, PageIndex.Builder index, FileChannel procMem) throws IOException {
        long t0 = System.nanoTime();
        batch.clear();
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
        } else {
            ProcessVm.readRanges(pid, batch, ranges, pendingRuns);
            batch.limit((int) pendingBytes);
        }
        long t1 = System.nanoTime();
        long offset = pages.append(batch);
        long t2 = System.nanoTime();
        readNanos += t1 - t0;
        writeNanos += t2 - t1;
        for (int r = 0; r < pendingRuns; r++) {
            long len = ranges[2 * r + 1];
            index.addRuns(PageRun.newBuilder().setVaddr(ranges[2 * r]).setNrPages(len / PAGE).setFileOffset(offset));
            offset += len;
            pagesWritten += len / PAGE;
        }
        pendingRuns = 0;
        pendingBytes = 0;
    }
}
