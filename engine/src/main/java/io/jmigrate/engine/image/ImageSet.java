package io.jmigrate.engine.image;

import com.google.protobuf.InvalidProtocolBufferException;
import io.jmigrate.engine.image.proto.DroppedPages;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.ImageFile;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.ProcessTree;
import io.jmigrate.engine.precopy.PageRanges;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * A complete image set, read back and verified. {@link #open} checks everything before returning: inventory.img
 * exists and is intact, every file it lists is present with the recorded size and CRC32C (pages too unless asked
 * not to), every header has our magic, version and the kind its name says, the set is whole (see
 * {@link ImageWriter#commit}) and each page index stays inside its pages file. Any failure is an
 * {@link ImageException} naming the directory or file.
 *
 * <p>Proto images are small and held in memory; page data stays on disk, read through {@link #openPages}.
 */
public final class ImageSet {
    private static final long MAX_PROTO_FILE = 1L << 30;
    private static final int VERIFY_CHUNK = 8 << 20;

    private final Path dir;
    private final Inventory inventory;
    private final ProcessTree pstree;
    private final Map<Integer, ProcessCore> cores = new HashMap<>();
    private final Map<Integer, MmImage> mms = new HashMap<>();
    private final Map<Integer, PageIndex> pageIndexes = new HashMap<>();
    private final Map<Integer, FdTable> fds = new HashMap<>();
    private final Map<Integer, Long> pagesBytes = new HashMap<>();
    /** Payload bytes of each shmem-PID.img (sets whose mm says shmem_file). */
    private final Map<Integer, Long> shmemBytes = new HashMap<>();
    /** --auto-dedup: pages of the own runs this set no longer holds, per pid (absent: none). */
    private final Map<Integer, PageRanges> dropped = new HashMap<>();

    /** Opens and verifies {@code dir}, page checksums included. */
    public static ImageSet open(Path dir) {
        return open(dir, true);
    }

    /**
     * Opens and verifies {@code dir}. With {@code checkPagesCrc} false the pages files' sizes and headers are still
     * checked but their contents are not read (a checksum pass reads every page).
     */
    public static ImageSet open(Path dir, boolean checkPagesCrc) {
        if (!Files.exists(dir)) throw new ImageException(dir + " does not exist");
        if (!Files.isDirectory(dir)) throw new ImageException(dir + " is not a directory");
        Path invFile = dir.resolve(ImageKind.INVENTORY.fileName(0));
        if (!Files.exists(invFile, LinkOption.NOFOLLOW_LINKS))
            throw new ImageException(dir + " is not a jmigrate image directory (no inventory.img): missing, or a dump"
                    + " that did not finish");
        Inventory inv = (Inventory) parse(invFile, ImageKind.INVENTORY, readProto(invFile, ImageKind.INVENTORY, null));
        return new ImageSet(dir, inv, checkPagesCrc);
    }

    private ImageSet(Path dir, Inventory inv, boolean checkPagesCrc) {
        this.dir = dir;
        this.inventory = inv;
        Map<String, ImageFile> listed = new LinkedHashMap<>();
        for (ImageFile f : inv.getFilesList()) {
            ImageKind kind = ImageKind.ofFileName(f.getName());
            if (kind == null || kind == ImageKind.INVENTORY)
                throw new ImageException(dir.resolve("inventory.img") + " lists \"" + f.getName()
                        + "\", which is not an image file name: the inventory is corrupt");
            if (listed.put(f.getName(), f) != null)
                throw new ImageException(dir.resolve("inventory.img") + " lists " + f.getName() + " twice: the inventory is corrupt");
        }
        if (!listed.containsKey(ImageKind.PSTREE.fileName(0)))
            throw new ImageException(dir + " is an incomplete image set: inventory.img lists no pstree.img");

        ProcessTree tree = null;
        Map<Integer, ImageFile> pagesFiles = new HashMap<>();
        for (ImageFile f : listed.values()) {
            Path file = dir.resolve(f.getName());
            ImageKind kind = ImageKind.ofFileName(f.getName());
            int pid = ImageKind.pidOf(f.getName());
            if (kind == ImageKind.PAGES) {
                pagesBytes.put(pid, checkRawHeader(file, f, kind));
                pagesFiles.put(pid, f);
                continue;
            }
            if (kind == ImageKind.SHMEM) {
                shmemBytes.put(pid, checkRawHeader(file, f, kind));
                if (checkPagesCrc) verifyPagesCrc(file, f, shmemBytes.get(pid), List.of());
                continue;
            }
            Object msg = parse(file, kind, readProto(file, kind, f));
            switch (kind) {
                case PSTREE -> tree = (ProcessTree) msg;
                case CORE -> cores.put(pid, (ProcessCore) msg);
                case MM -> mms.put(pid, (MmImage) msg);
                case PAGEMAP -> pageIndexes.put(pid, (PageIndex) msg);
                case FDS -> fds.put(pid, (FdTable) msg);
                default -> throw new AssertionError(kind);
            }
        }
        this.pstree = tree;
        String problem = incompleteness(tree, inv.getRootPid(), listed.keySet(), inv.getPreDump());
        if (problem != null) throw new ImageException(dir + " is an incomplete image set: " + problem);
        cores.forEach((pid, core) -> {
            if (core.getPid() != pid)
                throw new ImageException(dir.resolve(ImageKind.CORE.fileName(pid)) + " describes pid " + core.getPid()
                        + ", not " + pid + ": files were renamed or mixed up");
        });
        mms.forEach((pid, mm) -> checkShmemRuns(pid, mm));
        pageIndexes.forEach((pid, idx) -> checkPageIndex(dir.resolve(ImageKind.PAGEMAP.fileName(pid)), idx,
                ImageKind.PAGES.fileName(pid), pagesBytes.get(pid)));
        readDropped(inv);
        if (checkPagesCrc) {
            pagesFiles.forEach((pid, f) -> verifyPagesCrc(dir.resolve(f.getName()), f, pagesBytes.get(pid),
                    droppedFileRanges(pid, dropped(pid))));
        }
    }

    /** Checks the dropped ranges lie inside runs this set holds itself, and keeps them per pid. */
    private void readDropped(Inventory inv) {
        Map<Integer, PageRanges.Builder> builders = new HashMap<>();
        Map<Integer, PageRanges> own = new HashMap<>();
        for (DroppedPages d : inv.getDroppedPagesList()) {
            long end = d.getVaddr() + d.getNrPages() * ImageFormat.PAGE_SIZE;
            if (d.getVaddr() % ImageFormat.PAGE_SIZE != 0 || d.getNrPages() <= 0 || d.getNrPages() > (1L << 40)
                    || !pageIndexes.containsKey(d.getPid())
                    || own.computeIfAbsent(d.getPid(), this::ownRanges).pagesWithin(d.getVaddr(), end) != d.getNrPages())
                throw new ImageException(dir.resolve("inventory.img") + " drops pages 0x" + Long.toHexString(d.getVaddr())
                        + " (" + d.getNrPages() + " pages) of PID " + d.getPid() + ", which the set does not hold itself:"
                        + " the inventory is corrupt");
            builders.computeIfAbsent(d.getPid(), p -> PageRanges.builder()).add(d.getVaddr(), end);
        }
        builders.forEach((pid, b) -> dropped.put(pid, b.build()));
    }

    // ---- accessors ---------------------------------------------------------------------------------------------

    public Path directory() { return dir; }

    public Inventory inventory() { return inventory; }

    /** True for a pre-dump set: the process ran on, and only pstree, pagemap and pages were written. */
    public boolean isPreDump() { return inventory.getPreDump(); }

    /** The image set this one builds on (its pages marked in_parent are there), or null. */
    public Path parentDir() {
        return inventory.getParentDir().isEmpty() ? null : Path.of(inventory.getParentDir());
    }

    public ProcessTree pstree() { return pstree; }

    /** The pids of pstree.img, in its order. */
    public List<Integer> pids() {
        return pstree.getProcessesList().stream().map(ProcessEntry::getPid).toList();
    }

    public ProcessCore core(int pid) { return get(cores, ImageKind.CORE, pid); }

    public MmImage mm(int pid) { return get(mms, ImageKind.MM, pid); }

    /**
     * pagemap-PID.img as written. A deduplicated set no longer holds the {@link #dropped} pages of its own runs:
     * readers that take pages from this set use {@link #heldRuns} or {@link #ownRanges} minus {@link #dropped}.
     */
    public PageIndex pageIndex(int pid) { return get(pageIndexes, ImageKind.PAGEMAP, pid); }

    /** True once --auto-dedup dropped pages from this set (see docs/pre-copy.md). */
    public boolean isDeduplicated() { return inventory.getDeduplicated(); }

    /** Pages of {@code pid}'s own runs that --auto-dedup dropped: they read as zeros and must not be used. */
    public PageRanges dropped(int pid) { return dropped.getOrDefault(pid, PageRanges.EMPTY); }

    /** Addresses of the runs of {@code pid} whose pages are in this set's own pages file (dropped ones included). */
    public PageRanges ownRanges(int pid) { return runRanges(pid, false); }

    /** Addresses of the runs of {@code pid} left to the parent set. */
    public PageRanges inParentRanges(int pid) { return runRanges(pid, true); }

    private PageRanges runRanges(int pid, boolean inParent) {
        PageRanges.Builder b = PageRanges.builder();
        for (PageRun r : pageIndex(pid).getRunsList())
            if (r.getInParent() == inParent) b.add(r.getVaddr(), r.getVaddr() + r.getNrPages() * ImageFormat.PAGE_SIZE);
        return b.build();
    }

    /**
     * The page index of {@code pid} as this set holds it now: own runs cut around the dropped pages (which are
     * left out), in_parent runs as written.
     */
    public List<PageRun> heldRuns(int pid) {
        PageRanges gone = dropped(pid);
        if (gone.size() == 0) return pageIndex(pid).getRunsList();
        List<PageRun> out = new ArrayList<>();
        for (PageRun r : pageIndex(pid).getRunsList()) {
            long start = r.getVaddr(), end = start + r.getNrPages() * ImageFormat.PAGE_SIZE;
            if (r.getInParent()) {
                out.add(r);
                continue;
            }
            PageRanges kept = PageRanges.builder().add(start, end).build().minus(gone);
            for (int i = 0; i < kept.size(); i++) {
                out.add(r.toBuilder().setVaddr(kept.start(i)).setNrPages((kept.end(i) - kept.start(i)) / ImageFormat.PAGE_SIZE)
                        .setFileOffset(r.getFileOffset() + (kept.start(i) - start)).build());
            }
        }
        return out;
    }

    /**
     * The byte ranges {offset, length} of pages-PID.img that hold the pages {@code which} (within own runs),
     * in file order, merged where they touch.
     */
    List<long[]> droppedFileRanges(int pid, PageRanges which) {
        List<long[]> out = new ArrayList<>();
        if (which.size() == 0) return out;
        for (PageRun r : pageIndex(pid).getRunsList()) {
            if (r.getInParent()) continue;
            long start = r.getVaddr(), end = start + r.getNrPages() * ImageFormat.PAGE_SIZE;
            PageRanges part = which.intersect(PageRanges.builder().add(start, end).build());
            for (int i = 0; i < part.size(); i++) {
                long off = r.getFileOffset() + (part.start(i) - start), len = part.end(i) - part.start(i);
                if (!out.isEmpty() && out.getLast()[0] + out.getLast()[1] == off) out.getLast()[1] += len;
                else out.add(new long[] {off, len});
            }
        }
        out.sort((a, b) -> Long.compare(a[0], b[0]));
        return out;
    }

    /**
     * Whether a child that recorded {@code parentInventoryCrc} was dumped against this set: the CRC of its
     * inventory.img now, or, once deduplicated, before its first dedup (a dedup rewrites only the inventory).
     */
    public boolean isTheSetRecordedAs(int parentInventoryCrc) {
        if (parentInventoryCrc == 0) return true;      // written before the link check existed
        if (isDeduplicated() && parentInventoryCrc == inventory.getOriginInventoryCrc32C()) return true;
        return parentInventoryCrc == ImageFormat.crc32cOfFile(dir.resolve(ImageKind.INVENTORY.fileName(0)));
    }

    /** What a child dumped against this set records as parent_inventory_crc32c: stable across dedups. */
    public int identityCrc() {
        if (isDeduplicated()) return inventory.getOriginInventoryCrc32C();
        return ImageFormat.crc32cOfFile(dir.resolve(ImageKind.INVENTORY.fileName(0)));
    }

    public FdTable fds(int pid) { return get(fds, ImageKind.FDS, pid); }

    public Path pagesPath(int pid) {
        get(pagesBytes, ImageKind.PAGES, pid);
        return dir.resolve(ImageKind.PAGES.fileName(pid));
    }

    /**
     * The file holding the contents of the shmem objects {@code pid} owns, where their runs' file offsets point:
     * pages-PID.img, or shmem-PID.img when its mm says {@code shmem_file}.
     */
    public Path shmemContentsPath(int pid) {
        if (!mm(pid).getShmemFile()) return pagesPath(pid);
        get(shmemBytes, ImageKind.SHMEM, pid);
        return dir.resolve(ImageKind.SHMEM.fileName(pid));
    }

    /** Bytes of page data in pages-PID.img (the file is {@link #pagesDataOffset()} bytes longer). */
    public long pagesBytes(int pid) { return get(pagesBytes, ImageKind.PAGES, pid); }

    /** Where page data starts in every pages-PID.img: 4096. */
    public long pagesDataOffset() { return ImageFormat.PAGES_DATA_OFFSET; }

    /** Opens pages-PID.img for reading page data; close it when done. */
    public PagesReader openPages(int pid) {
        return new PagesReader(pagesPath(pid), pagesBytes(pid));
    }

    private <T> T get(Map<Integer, T> map, ImageKind kind, int pid) {
        T v = map.get(pid);
        if (v == null) throw new ImageException("no " + kind.fileName(pid) + " in " + dir + " (its processes: " + pids() + ")");
        return v;
    }

    // ---- verification ------------------------------------------------------------------------------------------

    /**
     * What keeps {@code names} (the files of a set) with this process tree and root pid from being a whole image
     * set, or null if nothing does. Shared by the writer (refuses to commit) and the reader (refuses to open).
     */
    static String incompleteness(ProcessTree tree, int rootPid, Collection<String> names, boolean preDump) {
        Set<Integer> pids = new LinkedHashSet<>();
        for (ProcessEntry e : tree.getProcessesList()) {
            if (e.getPid() <= 0) return "pstree.img lists a process with pid " + e.getPid();
            if (!pids.add(e.getPid())) return "pstree.img lists pid " + e.getPid() + " twice";
        }
        if (pids.isEmpty()) return "pstree.img lists no processes";
        if (!pids.contains(rootPid)) return "the root pid " + rootPid + " is not in pstree.img " + pids;
        for (ProcessEntry e : tree.getProcessesList()) {
            if (e.getZombie()) continue;             // a zombie is only its entry: no memory, files or threads
            for (ImageKind kind : preDump ? ImageKind.PER_PROCESS_PRE_DUMP : ImageKind.PER_PROCESS)
                if (!names.contains(kind.fileName(e.getPid()))) return "no " + kind.fileName(e.getPid()) + " for pid " + e.getPid() + " of pstree.img";
        }
        for (String name : names) {
            int pid = ImageKind.pidOf(name);
            if (pid > 0 && !pids.contains(pid)) return name + " is for pid " + pid + ", which is not in pstree.img";
        }
        return null;
    }

    /** Reads and checks a proto image; {@code expected} is its inventory record (null for inventory.img itself). */
    private static byte[] readProto(Path file, ImageKind kind, ImageFile expected) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate(ImageFormat.HEADER_SIZE);
            head.limit((int) Math.min(size, ImageFormat.HEADER_SIZE));
            ImageFormat.readFully(ch, head, 0, file);
            ImageFormat.Header h = ImageFormat.Header.check(file, head, size, kind, ImageFormat.HEADER_SIZE);
            checkRecordedSize(file, expected, size);
            if (size > MAX_PROTO_FILE)
                throw new ImageException(file + " is " + size + " bytes, too large for a " + kind + " image");
            ByteBuffer payload = ByteBuffer.allocate((int) h.payloadLength());
            ImageFormat.readFully(ch, payload, ImageFormat.HEADER_SIZE, file);
            CRC32C crc = new CRC32C();
            crc.update(payload.array());
            if ((int) crc.getValue() != h.crc32c()) throw checksumMismatch(file);
            if (expected != null) {
                CRC32C whole = new CRC32C();
                whole.update(head.array());
                whole.update(payload.array());
                if ((int) whole.getValue() != expected.getCrc32C()) throw checksumMismatch(file);
            }
            return payload.array();
        } catch (NoSuchFileException e) {
            throw missing(file);
        } catch (IOException e) {
            throw new ImageException("cannot read " + file + ": " + e, e);
        }
    }

    /**
     * Checks that the shmem runs of {@code pid}'s mm lie inside the file that holds them (pages-PID.img, or
     * shmem-PID.img when {@code shmem_file} is set, which must then be in the set).
     */
    private void checkShmemRuns(int pid, MmImage mm) {
        ImageKind holder = mm.getShmemFile() ? ImageKind.SHMEM : ImageKind.PAGES;
        Map<Integer, Long> sizes = mm.getShmemFile() ? shmemBytes : pagesBytes;
        for (io.jmigrate.engine.image.proto.ShmemObject o : mm.getShmemObjectsList()) {
            for (io.jmigrate.engine.image.proto.ShmemRun r : o.getRunsList()) {
                Long payload = sizes.get(pid);
                if (payload == null)
                    throw new ImageException(dir + " is an incomplete image set: " + ImageKind.MM.fileName(pid)
                            + " keeps shared memory in " + holder.fileName(pid) + ", which is not in the set");
                if (r.getFileOffset() < ImageFormat.PAGES_DATA_OFFSET
                        || r.getFileOffset() + r.getLength() > ImageFormat.PAGES_DATA_OFFSET + payload)
                    throw new ImageException(dir.resolve(holder.fileName(pid)) + " is too short for the shared memory"
                            + " run of inode " + o.getInode() + " at " + r.getFileOffset() + " (" + r.getLength() + " bytes)");
            }
        }
    }

    /** Checks a raw file's (pages-PID.img, shmem-PID.img) header and size against its record; returns its payload length. */
    private static long checkRawHeader(Path file, ImageFile expected, ImageKind kind) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate(ImageFormat.HEADER_SIZE);
            head.limit((int) Math.min(size, ImageFormat.HEADER_SIZE));
            ImageFormat.readFully(ch, head, 0, file);
            ImageFormat.Header h = ImageFormat.Header.check(file, head, size, kind, ImageFormat.PAGES_DATA_OFFSET);
            checkRecordedSize(file, expected, size);
            return h.payloadLength();
        } catch (NoSuchFileException e) {
            throw missing(file);
        } catch (IOException e) {
            throw new ImageException("cannot read " + file + ": " + e, e);
        }
    }

    /**
     * Checks pages-PID.img's contents against its record. {@code zeroRanges} (file offsets and lengths, sorted,
     * inside the payload) are the pages --auto-dedup dropped: they count as zeros whether or not they were punched
     * out yet, and the header's payload CRC (of the original pages) is then not checked.
     */
    private static void verifyPagesCrc(Path file, ImageFile expected, long payloadLength, List<long[]> zeroRanges) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(ImageFormat.PAGE_SIZE);
            ImageFormat.readFully(ch, head, 0, file);
            CRC32C headCrc = new CRC32C();
            headCrc.update(head.flip());
            int headerRecorded = head.order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(24);   // the header's payload CRC
            int payloadCrc = crc32cOfRange(ch, ImageFormat.PAGES_DATA_OFFSET, payloadLength, file, zeroRanges);
            if ((zeroRanges.isEmpty() && payloadCrc != headerRecorded)
                    || ImageFormat.crc32cCombine((int) headCrc.getValue(), payloadCrc, payloadLength) != expected.getCrc32C())
                throw checksumMismatch(file);
        } catch (NoSuchFileException e) {
            throw missing(file);
        } catch (IOException e) {
            throw new ImageException("cannot read " + file + ": " + e, e);
        }
    }

    /** CRC32C of [from, from + length) of the file, with the sorted {@code zeroRanges} read as zeros. */
    static int crc32cOfRange(FileChannel ch, long from, long length, Path file, List<long[]> zeroRanges) throws IOException {
        CRC32C crc = new CRC32C();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(VERIFY_CHUNK, ImageFormat.PAGE_SIZE);
            ByteBuffer buf = seg.asByteBuffer();
            long at = from, end = from + length;
            int z = 0;
            while (at < end) {
                while (z < zeroRanges.size() && zeroRanges.get(z)[0] + zeroRanges.get(z)[1] <= at) z++;
                boolean inZeros = z < zeroRanges.size() && zeroRanges.get(z)[0] <= at;
                long stop = inZeros ? Math.min(end, zeroRanges.get(z)[0] + zeroRanges.get(z)[1])
                        : Math.min(end, z < zeroRanges.size() ? zeroRanges.get(z)[0] : end);
                int n = (int) Math.min(VERIFY_CHUNK, stop - at);
                buf.clear().limit(n);
                if (inZeros) seg.asSlice(0, n).fill((byte) 0);
                else ImageFormat.readFully(ch, buf, at, file);
                buf.position(0).limit(n);
                crc.update(buf);
                at += n;
            }
        }
        return (int) crc.getValue();
    }

    private static void checkRecordedSize(Path file, ImageFile expected, long size) {
        if (expected != null && size != expected.getSize())
            throw new ImageException(file + " is " + size + " bytes but inventory.img recorded "
                    + Long.toUnsignedString(expected.getSize()) + ": it is not the file the dump wrote");
    }

    private static ImageException checksumMismatch(Path file) {
        return new ImageException(file + " checksum mismatch: the file is corrupt");
    }

    private static ImageException missing(Path file) {
        return new ImageException(file + " is missing (listed in inventory.img): the image set is incomplete");
    }

    private static Object parse(Path file, ImageKind kind, byte[] payload) {
        try {
            return switch (kind) {
                case INVENTORY -> Inventory.parseFrom(payload);
                case PSTREE -> ProcessTree.parseFrom(payload);
                case CORE -> ProcessCore.parseFrom(payload);
                case MM -> MmImage.parseFrom(payload);
                case PAGEMAP -> PageIndex.parseFrom(payload);
                case FDS -> FdTable.parseFrom(payload);
                case PAGES, SHMEM -> throw new AssertionError(kind);
            };
        } catch (InvalidProtocolBufferException e) {
            throw new ImageException(file + " does not parse as " + kind.messageType().getSimpleName() + ": "
                    + e.getMessage(), e);
        }
    }

    /** Every run page-aligned, inside the pages file's data, sorted by vaddr and non-overlapping. */
    private static void checkPageIndex(Path file, PageIndex idx, String pagesName, long pagesBytes) {
        long page = ImageFormat.PAGE_SIZE;
        long dataStart = ImageFormat.PAGES_DATA_OFFSET;
        long dataEnd = dataStart + pagesBytes;
        if (idx.getPagesFileDataOffset() != 0 && idx.getPagesFileDataOffset() != dataStart)
            throw new ImageException(file + " puts page data at offset " + Long.toUnsignedString(idx.getPagesFileDataOffset())
                    + " of " + pagesName + "; this format puts it at " + dataStart);
        long prevEnd = 0;
        for (int i = 0; i < idx.getRunsCount(); i++) {
            PageRun r = idx.getRuns(i);
            String where = file + " run " + i + " (vaddr 0x" + Long.toHexString(r.getVaddr()) + ")";
            if (r.getVaddr() % page != 0 || r.getFileOffset() % page != 0)
                throw new ImageException(where + " is not page-aligned: the page index is corrupt");
            if (r.getInParent() && r.getFileOffset() != 0)
                throw new ImageException(where + " is in the parent but has a file offset: the page index is corrupt");
            if (!r.getInParent() && (Long.compareUnsigned(r.getFileOffset(), dataStart) < 0 || Long.compareUnsigned(r.getFileOffset(), dataEnd) > 0
                    || Long.compareUnsigned(r.getNrPages(), (dataEnd - r.getFileOffset()) / page) > 0))
                throw new ImageException(where + " points outside the page data of " + pagesName
                        + ": the page index is corrupt");
            if (r.getInParent() && Long.compareUnsigned(r.getNrPages(), (-r.getVaddr()) / page) > 0)
                throw new ImageException(where + " runs past the end of the address space: the page index is corrupt");
            long end = r.getVaddr() + r.getNrPages() * page;   // nr_pages is bounded by the file size just above
            if ((i > 0 && Long.compareUnsigned(r.getVaddr(), prevEnd) < 0) || Long.compareUnsigned(end, r.getVaddr()) < 0)
                throw new ImageException(where + " overlaps or is out of order: the page index is corrupt");
            prevEnd = end;
        }
    }
}
