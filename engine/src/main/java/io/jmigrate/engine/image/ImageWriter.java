package io.jmigrate.engine.image;

import com.google.protobuf.Message;
import io.jmigrate.engine.image.proto.ImageFile;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.ProcessTree;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Writes one image set (one dump) into a directory.
 *
 * <p>Every file is written as {@code NAME.tmp}, fsynced and renamed into place; {@link #commit} writes
 * inventory.img last, the same way, after which the set is complete. Until then the directory has no inventory.img
 * and no reader takes it for an image set: {@link #create} removes an older set's inventory first, and
 * {@link #abort} (or {@link #close} without a commit) removes what this writer wrote.
 *
 * <p>Thread-safe: different processes' files may be written from different threads. Each {@link PagesWriter} is
 * used by one thread at a time.
 */
public final class ImageWriter implements ImageSink {
    private enum State { OPEN, COMMITTED, ABORTED }

    private final Path dir;
    private final boolean createdDir;
    private final Map<String, ImageFile> written = new TreeMap<>();   // guarded by this
    private final Set<String> inProgress = new HashSet<>();           // guarded by this
    private final Set<PagesWriter> openPages = new LinkedHashSet<>();  // guarded by this
    private ProcessTree pstree;                                        // guarded by this
    private State state = State.OPEN;                                  // guarded by this

    /** False for {@link #createUnsynced}: nothing is fsynced. */
    private final boolean durable;

    private ImageWriter(Path dir, boolean createdDir, boolean durable) {
        this.dir = dir;
        this.createdDir = createdDir;
        this.durable = durable;
    }

    /**
     * As {@link #create}, for a set whose loss on a crash costs nothing, so nothing is fsynced: the local shadow of a
     * round sent to a page server (the images themselves are on the page server; a dump writes the shadow while the
     * process is frozen, and an fsync on a disk cost milliseconds each there). Files still appear by atomic rename
     * and inventory.img last, so a partial shadow never opens as a set.
     */
    public static ImageWriter createUnsynced(Path dir) {
        return create(dir, false);
    }

    boolean durable() { return durable; }

    /**
     * Prepares {@code dir} for a new image set: creates it if needed; if it holds an older set, removes that set's
     * inventory.img first (and makes the removal durable) so a half-overwritten set never looks complete, then the
     * rest of the older set's files.
     */
    public static ImageWriter create(Path dir) {
        return create(dir, true);
    }

    private static ImageWriter create(Path dir, boolean durable) {
        if (Files.exists(dir) && !Files.isDirectory(dir))
            throw new ImageException(dir + " exists and is not a directory: cannot write images there");
        boolean created = false;
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                created = true;
                Path parent = dir.toAbsolutePath().getParent();
                if (parent != null && durable) ImageFormat.fsyncDirectory(parent);
            }
            if (Files.deleteIfExists(dir.resolve(ImageKind.INVENTORY.fileName(0))) && durable) ImageFormat.fsyncDirectory(dir);
            removeStaleImages(dir, durable);
        } catch (IOException e) {
            throw new ImageException("cannot prepare image directory " + dir + ": " + e, e);
        }
        return new ImageWriter(dir, created, durable);
    }

    /** Deletes an older set's image files and any leftover temporaries (only files that are ours by name and magic). */
    private static void removeStaleImages(Path dir, boolean durable) throws IOException {
        boolean removed = false;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                boolean tmp = name.endsWith(ImageFormat.TMP_SUFFIX);
                String base = tmp ? name.substring(0, name.length() - ImageFormat.TMP_SUFFIX.length()) : name;
                if (ImageKind.ofFileName(base) == null || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) continue;
                if (tmp || hasMagic(p)) {
                    Files.delete(p);
                    removed = true;
                }
            }
        }
        if (removed && durable) ImageFormat.fsyncDirectory(dir);
    }

    private static boolean hasMagic(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            return Arrays.equals(in.readNBytes(ImageFormat.MAGIC.length), ImageFormat.MAGIC);
        }
    }

    public Path directory() { return dir; }

    @Override
    public String destination() { return dir.toString(); }

    /**
     * Writes one proto image: {@code kind}'s file for {@code pid} (ignored for singleton kinds), durably, replacing
     * nothing this writer wrote before. Not for {@link ImageKind#INVENTORY} ({@link #commit}) or
     * {@link ImageKind#PAGES} ({@link #openPages}).
     */
    @Override
    public void writeMessage(ImageKind kind, int pid, Message msg) {
        if (kind == ImageKind.INVENTORY)
            throw new IllegalArgumentException("inventory.img is written by commit(), last");
        if (kind == ImageKind.PAGES) throw new IllegalArgumentException("pages images are written with openPages()");
        if (!kind.messageType().isInstance(msg))
            throw new IllegalArgumentException(kind + " images hold " + kind.messageType().getSimpleName() + ", not "
                    + msg.getClass().getSimpleName());
        String name = kind.fileName(pid);
        reserve(name);
        ImageFile record = null;
        try {
            record = writeAtomically(name, kind, msg.toByteArray());
        } finally {
            finish(name, record, kind == ImageKind.PSTREE ? (ProcessTree) msg : null);
        }
    }

    /** Starts pages-PID.img; its {@link PagesWriter#close()} completes it. */
    @Override
    public PagesWriter openPages(int pid) {
        String name = ImageKind.PAGES.fileName(pid);
        reserve(name);
        Path file = dir.resolve(name);
        try {
            PagesWriter w = new PagesWriter(this, name, file, dir.resolve(name + ImageFormat.TMP_SUFFIX));
            synchronized (this) { openPages.add(w); }
            return w;
        } catch (IOException | RuntimeException e) {
            finish(name, null, null);
            if (e instanceof RuntimeException r) throw r;
            throw new ImageException("cannot create " + file + ": " + e, e);
        }
    }

    /**
     * Completes the set: checks that it is whole (pstree.img, and core, mm, pagemap, pages and fds for each of its
     * processes, the root among them), fills {@code format_version} and {@code files} (name, size and CRC32C of every
     * file written), and writes inventory.img last, durably. Returns the inventory written.
     */
    @Override
    public synchronized Inventory commit(Inventory.Builder inventory) {
        checkOpen();
        if (!inProgress.isEmpty())
            throw new IllegalStateException("cannot commit " + dir + " while " + inProgress + " are still being written");
        if (pstree == null) throw new ImageException("cannot commit " + dir + ": pstree.img was not written");
        String problem = ImageSet.incompleteness(pstree, inventory.getRootPid(), written.keySet(), inventory.getPreDump());
        if (problem != null) throw new ImageException("cannot commit " + dir + ": " + problem);

        if (durable) ImageFormat.fsyncDirectory(dir);   // every rename so far is durable before inventory.img can exist
        Inventory inv = inventory.setFormatVersion(ImageFormat.VERSION).clearFiles()
                .addAllFiles(written.values()).build();
        writeAtomically(ImageKind.INVENTORY.fileName(0), ImageKind.INVENTORY, inv.toByteArray());
        if (durable) ImageFormat.fsyncDirectory(dir);
        state = State.COMMITTED;
        return inv;
    }

    /**
     * Gives up on this set: discards open pages writers and deletes every file this writer wrote, so the directory
     * holds nothing that opens as an image set. Best effort; never throws for a failed deletion. No-op once aborted
     * or committed (a committed set is complete and stays), so it is safe on any cleanup path.
     */
    @Override
    public void abort() {
        Set<PagesWriter> pages;
        Set<String> names;
        synchronized (this) {
            if (state != State.OPEN) return;
            state = State.ABORTED;
            pages = new LinkedHashSet<>(openPages);
            names = new HashSet<>(written.keySet());
        }
        for (PagesWriter w : pages) w.discard();
        for (String name : names) deleteQuietly(dir.resolve(name));
        if (durable) try { ImageFormat.fsyncDirectory(dir); } catch (ImageException ignored) { /* best effort */ }
        if (createdDir) {
            try { Files.deleteIfExists(dir); } catch (DirectoryNotEmptyException ignored) { /* someone else's files */ }
            catch (IOException ignored) { /* best effort */ }
        }
    }

    /** Aborts unless committed: use in try-with-resources so a dump that throws leaves no image set behind. */
    @Override
    public void close() {
        abort();
    }

    // ---- internals ---------------------------------------------------------------------------------------------

    private synchronized void checkOpen() {
        if (state != State.OPEN) throw new IllegalStateException("image writer for " + dir + " is " + state.name().toLowerCase());
    }

    private synchronized void reserve(String name) {
        checkOpen();
        if (written.containsKey(name) || !inProgress.add(name))
            throw new IllegalStateException(name + " was already written to " + dir);
    }

    /** Records a finished file (record non-null) or releases the name of a failed one. */
    private void finish(String name, ImageFile record, ProcessTree tree) {
        boolean aborted;
        synchronized (this) {
            inProgress.remove(name);
            aborted = state != State.OPEN;
            if (record != null && !aborted) {
                written.put(name, record);
                if (tree != null) pstree = tree;
            }
        }
        if (record != null && aborted) {
            deleteQuietly(dir.resolve(name));
            throw new ImageException("image writer for " + dir + " was aborted while " + name + " was being written");
        }
    }

    void pagesClosed(PagesWriter w, ImageFile record) {
        synchronized (this) { openPages.remove(w); }
        finish(w.name(), record, null);
    }

    /**
     * The bytes of {@code kind}'s image file holding {@code msg} (header + payload), exactly as this writer writes
     * it: what a sink that is not a directory sends instead.
     */
    public static byte[] fileBytes(ImageKind kind, Message msg) {
        if (!kind.messageType().isInstance(msg))
            throw new IllegalArgumentException(kind + " images hold " + kind.messageType().getSimpleName() + ", not "
                    + msg.getClass().getSimpleName());
        byte[] payload = msg.toByteArray();
        CRC32C crc = new CRC32C();
        crc.update(payload);
        byte[] header = ImageFormat.Header.of(kind, payload.length, (int) crc.getValue()).toBytes();
        byte[] whole = Arrays.copyOf(header, header.length + payload.length);
        System.arraycopy(payload, 0, whole, header.length, payload.length);
        return whole;
    }

    /** Writes header + payload to NAME.tmp, fsyncs (if durable), renames to NAME; returns the inventory record. */
    private ImageFile writeAtomically(String name, ImageKind kind, byte[] payload) {
        CRC32C crc = new CRC32C();
        crc.update(payload);
        byte[] header = ImageFormat.Header.of(kind, payload.length, (int) crc.getValue()).toBytes();
        CRC32C whole = new CRC32C();
        whole.update(header);
        whole.update(payload);
        Path file = dir.resolve(name);
        try {
            ImageFormat.replaceAtomically(file, durable, ByteBuffer.wrap(header), ByteBuffer.wrap(payload));
        } catch (IOException e) {
            throw new ImageException("cannot write " + file + ": " + e, e);
        }
        return ImageFile.newBuilder().setName(name).setSize(header.length + (long) payload.length)
                .setCrc32C((int) whole.getValue()).build();
    }

    static void deleteQuietly(Path p) {
        try { Files.deleteIfExists(p); } catch (IOException ignored) { /* best effort on cleanup paths */ }
    }
}
