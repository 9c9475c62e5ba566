package io.jmigrate.engine.image;

import com.google.protobuf.InvalidProtocolBufferException;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.ImageFile;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.ProcessTree;

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
        for (ImageFile f : listed.values()) {
            Path file = dir.resolve(f.getName());
            ImageKind kind = ImageKind.ofFileName(f.getName());
            int pid = ImageKind.pidOf(f.getName());
            if (kind == ImageKind.PAGES) {
                pagesBytes.put(pid, verifyPages(file, f, checkPagesCrc));
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
        pageIndexes.forEach((pid, idx) -> checkPageIndex(dir.resolve(ImageKind.PAGEMAP.fileName(pid)), idx,
                ImageKind.PAGES.fileName(pid), pagesBytes.get(pid)));
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

    public PageIndex pageIndex(int pid) { return get(pageIndexes, ImageKind.PAGEMAP, pid); }

    public FdTable fds(int pid) { return get(fds, ImageKind.FDS, pid); }

    public Path pagesPath(int pid) {
        get(pagesBytes, ImageKind.PAGES, pid);
        return dir.resolve(ImageKind.PAGES.fileName(pid));
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

    /** Checks pages-PID.img against its record; returns its payload length. */
    private static long verifyPages(Path file, ImageFile expected, boolean checkCrc) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate(ImageFormat.PAGE_SIZE);
            head.limit((int) Math.min(size, ImageFormat.HEADER_SIZE));
            ImageFormat.readFully(ch, head, 0, file);
            ImageFormat.Header h = ImageFormat.Header.check(file, head, size, ImageKind.PAGES, ImageFormat.PAGES_DATA_OFFSET);
            checkRecordedSize(file, expected, size);
            if (checkCrc) {
                head.clear();
                ImageFormat.readFully(ch, head, 0, file);
                CRC32C headCrc = new CRC32C();
                headCrc.update(head.flip());
                int payloadCrc = crc32cOfRange(ch, ImageFormat.PAGES_DATA_OFFSET, h.payloadLength(), file);
                if (payloadCrc != h.crc32c()
                        || ImageFormat.crc32cCombine((int) headCrc.getValue(), payloadCrc, h.payloadLength()) != expected.getCrc32C())
                    throw checksumMismatch(file);
            }
            return h.payloadLength();
        } catch (NoSuchFileException e) {
            throw missing(file);
        } catch (IOException e) {
            throw new ImageException("cannot read " + file + ": " + e, e);
        }
    }

    private static int crc32cOfRange(FileChannel ch, long from, long length, Path file) throws IOException {
        CRC32C crc = new CRC32C();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(VERIFY_CHUNK, ImageFormat.PAGE_SIZE);
            ByteBuffer buf = seg.asByteBuffer();
            for (long done = 0; done < length; ) {
                buf.clear().limit((int) Math.min(VERIFY_CHUNK, length - done));
                ImageFormat.readFully(ch, buf, from + done, file);
                done += buf.position();
                crc.update(buf.flip());
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
                case PAGES -> throw new AssertionError(kind);
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
