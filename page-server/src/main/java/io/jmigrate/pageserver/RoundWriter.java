package io.jmigrate.pageserver;

import com.google.protobuf.InvalidProtocolBufferException;
import io.jmigrate.engine.image.ImageFormat;
import io.jmigrate.engine.image.ImageKind;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.ImageFile;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.transport.PageBatch;
import io.jmigrate.transport.RoundSink;
import io.jmigrate.transport.TransportException;
import io.jmigrate.transport.Wire;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes one received round as an image set in the format of docs/image-format.md.
 *
 * <p>Everything goes into a hidden temporary directory {@code .ROUND.partial-UUID} beside the final one. Metadata
 * files arrive whole and are checked (magic, kind, checksum) and stored as they are. Pages arrive as batches from
 * several streams at once: each batch gets the next free room in its process's pages file and is written there
 * positionally, zero pages left as sparse holes (they read back as zeros). Shared memory contents
 * (shmem-PID.img) arrive as file chunks in order and get their header and checksum here too. The commit then writes what only the
 * receiver knows: each {@code pagemap-PID.img} (the batches sorted by address), each pages file's header and
 * checksum, and {@code inventory.img} from the sender's inventory with the file list rebuilt. The set is opened
 * with the engine's {@code ImageSet} as a last check, then the directory is renamed to its final name. An abort
 * deletes the temporary directory: a partial round is never visible under the round's name.
 */
final class RoundWriter implements RoundSink {
    /** Metadata files are read whole to be checked: a sender may not make the receiver hold more than this. */
    private static final long MAX_METADATA_FILE = 256L << 20;
    private final Path root;
    private final String round;
    private final Path tmp;
    private final Map<Integer, PidPages> pages = new ConcurrentHashMap<>();
    private final Map<String, FileChannel> openFiles = new ConcurrentHashMap<>();
    private final AtomicLong bytesStored = new AtomicLong();
    /** Inventory records of the raw files (pages-PID.img, shmem-PID.img), whose header this writer builds. */
    private final Map<String, ImageFile> rawRecords = new ConcurrentHashMap<>();
    /** Runs the sender left to the parent round (addresses only, no pages travel for them), by pid. */
    private final Map<Integer, List<PageRun>> inParentRuns = new ConcurrentHashMap<>();
    private volatile boolean ended;

    /** One process's pages file while it is being received. */
    private static final class PidPages {
        final Path file;
        final FileChannel ch;
        final AtomicLong nextOffset = new AtomicLong(ImageFormat.PAGES_DATA_OFFSET);
        final ConcurrentLinkedQueue<long[]> runs = new ConcurrentLinkedQueue<>();   // {vaddr, pages, file offset}

        PidPages(Path file) throws IOException {
            this.file = file;
            this.ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ);
        }
    }

    RoundWriter(Path root, String round) {
        this.root = root;
        this.round = round;
        this.tmp = root.resolve("." + round + ".partial-" + UUID.randomUUID());
        try {
            Files.createDirectories(tmp);
        } catch (IOException e) {
            throw new TransportException("cannot create " + tmp + ": " + e.getMessage(), e);
        }
    }

    Path temporaryDirectory() { return tmp; }

    @Override
    public long bytesStored() { return bytesStored.get(); }

    /**
     * Streams write files and pages concurrently (shared); the commit and an abort hold it exclusively, so an abort
     * never deletes the directory while another stream's event loop is still creating a file in it.
     */
    private final java.util.concurrent.locks.ReentrantReadWriteLock lock = new java.util.concurrent.locks.ReentrantReadWriteLock();

    @Override
    public void file(String name, long offset, byte[] content, boolean last) {
        lock.readLock().lock();
        try {
            if (ended) throw new TransportException("round " + round + " has ended");
            writeFile(name, offset, content, last);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void pages(PageBatch batch) {
        lock.readLock().lock();
        try {
            if (ended) throw new TransportException("round " + round + " has ended");
            writePages(batch);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public String commit(byte[] inventoryBytes) {
        lock.writeLock().lock();
        try {
            return writeCommit(inventoryBytes);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void abort(String reason) {
        lock.writeLock().lock();
        try {
            ended = true;
            for (FileChannel ch : openFiles.values()) closeQuietly(ch);
            for (PidPages p : pages.values()) closeQuietly(p.ch);
            deleteTree(tmp);
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void writeFile(String name, long offset, byte[] content, boolean last) {
        ImageKind kind = ImageKind.ofFileName(name);
        if (kind == null) throw new TransportException("'" + name + "' is not an image file name");
        if (kind == ImageKind.INVENTORY || kind == ImageKind.PAGES)
            throw new TransportException(name + " is written by the receiver, not sent as a file");
        Path part = tmp.resolve(name + ".part");
        try {
            if (kind == ImageKind.SHMEM) {
                writeShmem(name, part, offset, content, last);
                return;
            }
            FileChannel ch = appendChunk(name, part, 0, offset, content, MAX_METADATA_FILE);
            if (last) {
                openFiles.remove(name);
                byte[] whole = new byte[(int) ch.size()];
                ByteBuffer wb = ByteBuffer.wrap(whole);
                while (wb.hasRemaining()) if (ch.read(wb, wb.position()) < 0) break;
                byte[] payload = ImageFiles.checkProtoFile(name, whole);
                if (kind == ImageKind.PAGEMAP) {
                    // a sent pagemap only carries the runs left to the parent: the rest is rebuilt from the batches
                    ch.close();
                    Files.delete(part);
                    keepInParentRuns(name, payload);
                    return;
                }
                ch.force(true);
                ch.close();
                Files.move(part, tmp.resolve(name), StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new TransportException("cannot write " + part + ": " + e.getMessage(), e);
        }
    }

    /**
     * shmem-PID.img arrives as its data, in order, from offset 0 (the sender's file offsets minus the header page);
     * its header and checksum are written here once the last chunk is in, as for pages files.
     */
    private void writeShmem(String name, Path part, long offset, byte[] content, boolean last) throws IOException {
        FileChannel ch = appendChunk(name, part, ImageFormat.PAGES_DATA_OFFSET, offset, content, Long.MAX_VALUE);
        if (!last) return;
        openFiles.remove(name);
        long payload = offset + content.length;
        if (payload % ImageFormat.PAGE_SIZE != 0)
            throw new TransportException(name + " ends after " + payload + " bytes of data, not a whole number of pages");
        completeRawFile(name, ImageKind.SHMEM, ch, part, payload);
    }

    /**
     * Writes a chunk of file {@code name} (its temporary {@code part}) at {@code base} + {@code offset}: chunks must
     * arrive in order, each starting where the one before ended, the first at 0, and stay under {@code max} bytes
     * (a metadata image is read whole to be checked). Returns the file's channel.
     */
    private FileChannel appendChunk(String name, Path part, long base, long offset, byte[] content, long max) throws IOException {
        FileChannel ch = openFiles.get(name);
        if (ch == null) {
            if (offset != 0) throw new TransportException(name + " arrived starting at offset " + offset);
            ch = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ);
            openFiles.put(name, ch);
        }
        long expected = Math.max(0, ch.size() - base);
        if (offset != expected) throw new TransportException(name + ": chunk at offset " + offset + ", expected " + expected);
        if (offset + content.length > max)
            throw new TransportException(name + " grows past " + (max >> 20) + " MiB: not a metadata image");
        ByteBuffer b = ByteBuffer.wrap(content);
        while (b.hasRemaining()) ch.write(b, base + offset + b.position());
        bytesStored.addAndGet(content.length);
        return ch;
    }

    private void keepInParentRuns(String name, byte[] payload) {
        PageIndex sent;
        try {
            sent = PageIndex.parseFrom(payload);
        } catch (InvalidProtocolBufferException e) {
            throw new TransportException(name + " is malformed: " + e.getMessage());
        }
        List<PageRun> runs = new ArrayList<>();
        for (PageRun r : sent.getRunsList()) {
            if (!r.getInParent() || r.getFileOffset() != 0 || r.getNrPages() <= 0)
                throw new TransportException(name + " may only list runs left to the parent round (in_parent, no file offset)");
            runs.add(r);
        }
        if (inParentRuns.putIfAbsent(ImageKind.pidOf(name), runs) != null)
            throw new TransportException(name + " arrived twice in round " + round);
    }

    private void writePages(PageBatch batch) {
        PidPages p = pages.computeIfAbsent(batch.pid(), pid -> {
            try {
                return new PidPages(tmp.resolve(ImageKind.PAGES.fileName(pid) + ".part"));
            } catch (IOException e) {
                throw new TransportException("cannot create the pages file of pid " + pid + " in " + tmp + ": " + e.getMessage(), e);
            }
        });
        long offset = p.nextOffset.getAndAdd(batch.byteLength());
        int from = 0;
        try {
            int count = batch.pageCount();
            for (int i = 0; i < count; ) {
                if (batch.isHole(i)) { i++; continue; }
                int j = i;
                while (j < count && !batch.isHole(j)) j++;
                int len = (j - i) * Wire.PAGE_SIZE;
                long at = offset + (long) i * Wire.PAGE_SIZE;
                for (ByteBuffer src : batch.dataBuffers(from, len))   // the pieces it arrived in: no copy to join them
                    while (src.hasRemaining()) at += p.ch.write(src, at);
                from += len;
                i = j;
            }
        } catch (IOException e) {
            throw new TransportException("cannot write " + p.file + ": " + e.getMessage(), e);
        }
        p.runs.add(new long[]{batch.vaddr(), batch.pageCount(), offset});
        bytesStored.addAndGet(batch.byteLength());
    }

    private String writeCommit(byte[] inventoryBytes) {
        ended = true;
        try {
            if (!openFiles.isEmpty()) throw new TransportException("files not complete at commit: " + openFiles.keySet());
            Inventory inventory;
            try {
                inventory = Inventory.parseFrom(inventoryBytes);
            } catch (InvalidProtocolBufferException e) {
                throw new TransportException("the commit's inventory is malformed: " + e.getMessage());
            }
            inventory = linkParent(inventory);
            for (Map.Entry<Integer, PidPages> e : pages.entrySet()) finishPages(e.getKey(), e.getValue());
            // a process with memory images but not one page sent still gets (empty) pages and pagemap files
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp, "mm-*.img")) {
                for (Path mm : ds) {
                    int pid = ImageKind.pidOf(mm.getFileName().toString());
                    if (pid > 0 && !pages.containsKey(pid) && !rawRecords.containsKey(ImageKind.PAGES.fileName(pid))) {
                        PidPages empty = new PidPages(tmp.resolve(ImageKind.PAGES.fileName(pid) + ".part"));
                        finishPages(pid, empty);
                    }
                }
            }
            writeInventory(inventory);
            ImageFiles.fsyncDirectory(tmp);
            if (Files.exists(tmp.resolve(ImageKind.PSTREE.fileName(0)))) ImageSet.open(tmp, false);   // the engine's own check
            Path target = root.resolve(round);
            Path old = null;
            if (Files.exists(target)) {
                old = root.resolve("." + round + ".old-" + UUID.randomUUID());
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            ImageFiles.fsyncDirectory(root);
            if (old != null) deleteTree(old);
            return target.toString();
        } catch (IOException e) {
            abort("commit failed");
            throw new TransportException("cannot commit round " + round + " in " + tmp + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            abort("commit failed");
            if (e instanceof TransportException) throw e;
            throw new TransportException("cannot commit round " + round + ": " + e.getMessage(), e);
        }
    }

    /** Sorts the runs by address into pagemap-PID.img and completes pages-PID.img (length, header, checksum). */
    private void finishPages(int pid, PidPages p) throws IOException {
        List<long[]> runs = new ArrayList<>(p.runs);
        runs.sort(Comparator.comparingLong(r -> r[0]));
        PageIndex.Builder index = PageIndex.newBuilder().setPagesFileDataOffset(ImageFormat.PAGES_DATA_OFFSET);
        List<PageRun> rebuilt = new ArrayList<>();
        long[] cur = null;
        for (long[] r : runs) {
            if (cur != null && Long.compareUnsigned(r[0], cur[0] + cur[1] * Wire.PAGE_SIZE) < 0)
                throw new TransportException("pid " + pid + ": page 0x" + Long.toHexString(r[0]) + " was sent twice in round " + round);
            if (cur != null && r[0] == cur[0] + cur[1] * Wire.PAGE_SIZE && r[2] == cur[2] + cur[1] * Wire.PAGE_SIZE) {
                cur[1] += r[1];    // contiguous in memory and in the file: one run
                continue;
            }
            if (cur != null) rebuilt.add(PageRun.newBuilder().setVaddr(cur[0]).setNrPages(cur[1]).setFileOffset(cur[2]).build());
            cur = r.clone();
        }
        if (cur != null) rebuilt.add(PageRun.newBuilder().setVaddr(cur[0]).setNrPages(cur[1]).setFileOffset(cur[2]).build());
        rebuilt.addAll(inParentRuns.getOrDefault(pid, List.of()));
        rebuilt.sort((a, b) -> Long.compareUnsigned(a.getVaddr(), b.getVaddr()));
        for (int i = 1; i < rebuilt.size(); i++) {
            PageRun prev = rebuilt.get(i - 1);
            if (Long.compareUnsigned(rebuilt.get(i).getVaddr(), prev.getVaddr() + prev.getNrPages() * Wire.PAGE_SIZE) < 0)
                throw new TransportException("pid " + pid + ": page 0x" + Long.toHexString(rebuilt.get(i).getVaddr())
                        + " was both sent and left to the parent in round " + round);
        }
        index.addAllRuns(rebuilt);

        completeRawFile(ImageKind.PAGES.fileName(pid), ImageKind.PAGES, p.ch, p.file, p.nextOffset.get() - ImageFormat.PAGES_DATA_OFFSET);
        writeWhole(ImageKind.PAGEMAP.fileName(pid), ImageFiles.protoFile(ImageKind.PAGEMAP, index.build().toByteArray()));
    }

    /**
     * Completes a raw file whose data ({@code payload} bytes after the header page) is written: length, header,
     * checksum (recorded for the inventory), fsync, then renamed from {@code part} to {@code name}.
     */
    private void completeRawFile(String name, ImageKind kind, FileChannel ch, Path part, long payload) throws IOException {
        long end = ImageFormat.PAGES_DATA_OFFSET + payload;
        if (ch.size() < end) ch.write(ByteBuffer.allocate(1), end - 1);   // a trailing hole still counts
        int payloadCrc = ImageFiles.crc(ch, ImageFormat.PAGES_DATA_OFFSET, payload);
        ByteBuffer head = ImageFiles.header(kind, payload, payloadCrc, ImageFormat.PAGE_SIZE);
        java.util.zip.CRC32C headCrc = new java.util.zip.CRC32C();
        headCrc.update(head.duplicate());
        while (head.hasRemaining()) ch.write(head, head.position());
        rawRecords.put(name, ImageFile.newBuilder().setName(name).setSize(end)
                .setCrc32C(ImageFiles.pagesInventoryCrc((int) headCrc.getValue(), payloadCrc, payload)).build());
        ch.force(true);
        ch.close();
        Files.move(part, tmp.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * The sender names the parent by its round name in parent_dir (a path on the sending host would mean nothing
     * here): it must be a round this server committed. A parent_dir with a '/' is a path (send-images of a local
     * chain) and is kept as it came, as before. parent_dir then points at that round's directory, and the
     * parent's inventory checksum is computed from the file stored here, which is what a restore checks.
     */
    private Inventory linkParent(Inventory sent) throws IOException {
        String parentRound = sent.getParentDir();
        if (parentRound.isEmpty()) {
            if (!inParentRuns.isEmpty())
                throw new TransportException("round " + round + " leaves pages to a parent round but names none");
            return sent;
        }
        if (parentRound.contains("/")) {
            // send-images of a local chain: parent_dir is the sender's path, kept as it came (no in_parent runs sent)
            if (!inParentRuns.isEmpty())
                throw new TransportException("round " + round + " sends runs left to its parent but names it by path ("
                        + parentRound + "), not by round name");
            return sent;
        }
        if (!PageServer.isRoundName(parentRound) || parentRound.equals(round))
            throw new TransportException("round " + round + " names '" + parentRound + "' as its parent, which is not a round name");
        Path parentDir = root.resolve(parentRound).toAbsolutePath().normalize();
        Path parentInventory = parentDir.resolve(ImageKind.INVENTORY.fileName(0));
        if (!Files.isRegularFile(parentInventory))
            throw new TransportException("round " + round + " builds on round " + parentRound
                    + ", which this page server does not have: send the whole chain to the same page server");
        return sent.toBuilder().setParentDir(parentDir.toString())
                .setParentInventoryCrc32C(ImageFiles.crcOfFile(parentInventory)).build();
    }

    private void writeInventory(Inventory sent) throws IOException {
        TreeMap<String, ImageFile> files = new TreeMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp)) {
            for (Path f : ds) {
                String name = f.getFileName().toString();
                ImageKind kind = ImageKind.ofFileName(name);
                if (kind == null || kind == ImageKind.INVENTORY) continue;
                if (kind.raw()) {
                    files.put(name, rawRecords.get(name));
                    continue;
                }
                files.put(name, ImageFile.newBuilder().setName(name).setSize(Files.size(f))
                        .setCrc32C(ImageFiles.crcOfFile(f)).build());
            }
        }
        Inventory inv = sent.toBuilder().setFormatVersion(ImageFormat.VERSION).clearFiles().addAllFiles(files.values()).build();
        ImageFiles.fsyncDirectory(tmp);
        writeWhole(ImageKind.INVENTORY.fileName(0), ImageFiles.protoFile(ImageKind.INVENTORY, inv.toByteArray()));
    }

    private void writeWhole(String name, byte[] content) throws IOException {
        Path part = tmp.resolve(name + ".part");
        try (FileChannel ch = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
        Files.move(part, tmp.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }


    private static void closeQuietly(FileChannel ch) {
        try { ch.close(); } catch (IOException ignored) { /* cleanup */ }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try { Files.deleteIfExists(p); } catch (IOException ignored) { /* best effort */ }
            });
        } catch (IOException ignored) { /* best effort */ }
    }

}
