package io.jmigrate.engine.image;

import com.google.protobuf.ByteString;
import io.jmigrate.engine.image.proto.DumpStats;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.ProcessTree;
import io.jmigrate.engine.image.proto.Rlimit;
import io.jmigrate.engine.image.proto.SigAction;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.image.proto.UserRegs;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.image.proto.VmaKind;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** A realistic two-process image set, written through the public API, and helpers to damage files. */
final class ImageFixtures {
    private ImageFixtures() {}

    static final int ROOT = 42;
    static final int CHILD = 43;
    static final int PAGE = 4096;
    /** Starts every page written, so tests can tell whether page data leaked somewhere. */
    static final String PAGE_MARKER = "PAGE-DATA-MARKER";
    static final long HEAP = 0x55d0_1234_0000L;
    static final long STACK = 0x7ffd_4000_0000L;
    static final int XSTATE_BYTES = 2696;

    /** What was written, to compare against what is read. */
    record Written(Inventory inventory, ProcessTree pstree, Map<Integer, ProcessCore> cores, Map<Integer, MmImage> mms,
                   Map<Integer, PageIndex> pageIndexes, Map<Integer, FdTable> fds, Map<Integer, byte[]> pages) {}

    static Written writeSet(Path dir) {
        try (ImageWriter w = ImageWriter.create(dir)) {
            Written partial = writeAllButInventory(w);
            Inventory inv = w.commit(inventoryBuilder());
            return new Written(inv, partial.pstree(), partial.cores(), partial.mms(), partial.pageIndexes(),
                    partial.fds(), partial.pages());
        }
    }

    static Inventory.Builder inventoryBuilder() {
        return Inventory.newBuilder().setToolVersion("0.1.0-test").setRootPid(ROOT).setKernelRelease("6.8.0")
                .setHostname("testhost").setCreatedUnixMs(1_700_000_000_000L)
                .setStats(DumpStats.newBuilder().setFrozenNanos(1_234_567).setPagesWritten(777));
    }

    /** Everything of a complete set except inventory.img (what a dump killed just before commit leaves). */
    static Written writeAllButInventory(ImageWriter w) {
        ProcessTree pstree = ProcessTree.newBuilder()
                .addProcesses(ProcessEntry.newBuilder().setPid(ROOT).setPpid(1).setPgid(ROOT).setSid(ROOT)
                        .addThreads(ROOT).addThreads(ROOT + 100))
                .addProcesses(ProcessEntry.newBuilder().setPid(CHILD).setPpid(ROOT).setPgid(ROOT).setSid(ROOT)
                        .addThreads(CHILD))
                .build();
        w.writeMessage(ImageKind.PSTREE, 0, pstree);
        Map<Integer, ProcessCore> cores = new LinkedHashMap<>();
        Map<Integer, MmImage> mms = new LinkedHashMap<>();
        Map<Integer, PageIndex> indexes = new LinkedHashMap<>();
        Map<Integer, FdTable> fds = new LinkedHashMap<>();
        Map<Integer, byte[]> pages = new LinkedHashMap<>();
        for (ProcessEntry e : pstree.getProcessesList()) {
            int pid = e.getPid();
            cores.put(pid, core(pid));
            mms.put(pid, mm(pid));
            fds.put(pid, fds());
            w.writeMessage(ImageKind.CORE, pid, cores.get(pid));
            w.writeMessage(ImageKind.MM, pid, mms.get(pid));
            w.writeMessage(ImageKind.FDS, pid, fds.get(pid));
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            indexes.put(pid, writePages(w, pid, pid == ROOT, all));
            pages.put(pid, all.toByteArray());
            w.writeMessage(ImageKind.PAGEMAP, pid, indexes.get(pid));
        }
        return new Written(null, pstree, cores, mms, indexes, fds, pages);
    }

    /**
     * Writes pages through every append path: heap segment, heap ByteBuffer, a big native segment (written
     * straight, not staged) and a small direct ByteBuffer. Returns the page index built from the returned offsets.
     */
    static PageIndex writePages(ImageWriter w, int pid, boolean big, ByteArrayOutputStream all) {
        PageIndex.Builder idx = PageIndex.newBuilder().setPagesFileDataOffset(ImageFormat.PAGES_DATA_OFFSET);
        try (PagesWriter pw = w.openPages(pid); Arena arena = Arena.ofConfined()) {
            byte[] one = pages(pid, 0, 1);
            idx.addRuns(run(HEAP, 1, pw.append(MemorySegment.ofArray(one))));
            all.writeBytes(one);
            byte[] three = pages(pid, 1, 3);
            idx.addRuns(run(HEAP + 2L * PAGE, 3, pw.append(ByteBuffer.wrap(three))));
            all.writeBytes(three);
            if (big) {
                int n = 800;   // 3.1 MiB: more than the staging buffer
                byte[] many = pages(pid, 4, n);
                MemorySegment seg = arena.allocate(many.length, PAGE).copyFrom(MemorySegment.ofArray(many));
                idx.addRuns(run(HEAP + 16L * PAGE, n, pw.append(seg)));
                all.writeBytes(many);
            }
            byte[] two = pages(pid, 1000, 2);
            ByteBuffer direct = ByteBuffer.allocateDirect(two.length).put(two).flip();
            idx.addRuns(run(STACK - 2L * PAGE, 2, pw.append(direct)));
            all.writeBytes(two);
        }
        return idx.build();
    }

    static PageRun run(long vaddr, long nrPages, long fileOffset) {
        return PageRun.newBuilder().setVaddr(vaddr).setNrPages(nrPages).setFileOffset(fileOffset).build();
    }

    /** {@code n} recognizable pages: the marker, pid and page number, then a pattern. */
    static byte[] pages(int pid, int first, int n) {
        byte[] b = new byte[n * PAGE];
        for (int p = 0; p < n; p++) {
            for (int i = 0; i < PAGE; i++) b[p * PAGE + i] = (byte) (i * 31 + p + pid);
            byte[] tag = (PAGE_MARKER + " pid " + pid + " page " + (first + p)).getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(tag, 0, b, p * PAGE, tag.length);
        }
        return b;
    }

    static byte[] xstate(int tid) {
        byte[] x = new byte[XSTATE_BYTES];
        Arrays.fill(x, (byte) (0x5A ^ tid));
        return x;
    }

    static ProcessCore core(int pid) {
        ProcessCore.Builder c = ProcessCore.newBuilder().setPid(pid).setComm("memhog").setExe("/usr/bin/memhog")
                .setCwd("/tmp").setRoot("/").setUmask(022).setPersonality(0)
                .addRlimits(Rlimit.newBuilder().setResource(3).setName("STACK").setSoft(8 << 20).setHard(-1))
                .addSigactions(SigAction.newBuilder().setSignal(10).setHandler(0x55d0_0000_1f40L).setFlags(0x0400_0004L)
                        .setRestorer(0x7f12_3456_7890L).setMask(1L << 9))
                .addSigactions(SigAction.newBuilder().setSignal(13).setHandler(1));
        byte[] siginfo = new byte[128];
        ByteBuffer.wrap(siginfo).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(10).putInt(0).putInt(-6);
        c.addSharedPendingSignals(ByteString.copyFrom(siginfo));
        int[] tids = pid == ROOT ? new int[] {ROOT, ROOT + 100} : new int[] {pid};
        for (int tid : tids) {
            c.addThreads(ThreadCore.newBuilder().setTid(tid).setComm("memhog").setSigmask(0x1000)
                    .setXstate(ByteString.copyFrom(xstate(tid)))
                    .setRegs(UserRegs.newBuilder().setRip(0x7f12_3456_789aL).setRsp(STACK - 0x100).setRax(-38)
                            .setOrigRax(230).setCs(0x33).setSs(0x2b).setEflags(0x246).setFsBase(0x7f12_0000_0740L)));
        }
        return c.build();
    }

    static MmImage mm(int pid) {
        return MmImage.newBuilder().setStartCode(0x55d0_0000_0000L).setEndCode(0x55d0_0000_2000L)
                .setStartData(0x55d0_0000_3000L).setEndData(0x55d0_0000_4000L)
                .setStartBrk(HEAP).setBrk(HEAP + 0x100_0000L).setStartStack(STACK - 0x1000)
                .setArgStart(STACK - 0x800).setArgEnd(STACK - 0x7f0).setEnvStart(STACK - 0x7f0).setEnvEnd(STACK - 0x10)
                .addAuxv(6).addAuxv(4096).addAuxv(9).addAuxv(0x55d0_0000_1040L).addAuxv(0).addAuxv(0)
                .setExe("/usr/bin/memhog")
                .addVmas(Vma.newBuilder().setStart(0x55d0_0000_0000L).setEnd(0x55d0_0000_2000L).setProt(5).setFlags(2)
                        .setKind(VmaKind.VMA_FILE).setPath("/usr/bin/memhog").setName("/usr/bin/memhog").setDev(0x803).setInode(1234))
                .addVmas(Vma.newBuilder().setStart(HEAP).setEnd(HEAP + 0x100_0000L).setProt(3).setFlags(0x22)
                        .setKind(VmaKind.VMA_HEAP).setName("[heap]"))
                .addVmas(Vma.newBuilder().setStart(STACK - 0x21000).setEnd(STACK).setProt(3).setFlags(0x122)
                        .setKind(VmaKind.VMA_STACK).setName("[stack]"))
                .build();
    }

    static FdTable fds() {
        return FdTable.newBuilder()
                .addFds(FdEntry.newBuilder().setFd(0).setKind(FdKind.FD_CHAR_DEVICE).setPath("/dev/null").setFlags(0100002)
                        .setMode(020666).setRdev(0x103))
                .addFds(FdEntry.newBuilder().setFd(3).setKind(FdKind.FD_REGULAR).setPath("/tmp/log \"quoted\"")
                        .setFlags(02000001).setPos(100).setMode(0100644).setSize(100))
                .build();
    }

    // ---- damaging files ------------------------------------------------------------------------------------------

    static void flipByte(Path file, long offset) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x01)).position(0);
            ch.write(b, offset);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void putIntLE(Path file, long offset, int value) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, value), offset);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void truncate(Path file, long size) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
