package io.jmigrate.pageserver;

import com.google.protobuf.Message;
import io.jmigrate.engine.image.ImageException;
import io.jmigrate.engine.image.ImageFormat;
import io.jmigrate.engine.image.ImageKind;
import io.jmigrate.engine.image.ImageSink;
import io.jmigrate.engine.image.ImageWriter;
import io.jmigrate.engine.image.PageSink;
import io.jmigrate.engine.image.ShmemSink;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.ProcessTree;
import io.jmigrate.engine.image.proto.ShmemObject;
import io.jmigrate.transport.RoundSender;
import io.jmigrate.transport.proto.Committed;

import java.lang.foreign.MemorySegment;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * The engine's {@link ImageSink} over a {@link RoundSender}: a dump straight to a page server. Metadata images go
 * as files with the bytes {@link ImageWriter} would have written, pages as batches by (pid, vaddr), the contents
 * of shared memory objects as shmem-PID.img ({@link NetworkShmemSink}), and the inventory as the commit, only when
 * the dump calls {@link #commit}. The page server rebuilds what only it can
 * (pagemap, pages headers, file list), exactly as for {@link ImageSetSender}, so the set it stores is the one a
 * local dump followed by send-images would give. Closing without a commit closes the streams: the page server
 * discards the round.
 *
 * <p>Pre-copy chains: with a shadow directory, the sink also writes there, locally, what a later round needs of
 * this one: every metadata image and the page index, with every run marked in_parent and no page (a shadow is
 * never restored from; its {@value #ROUND_FILE} file names the round on the page server). A later round gives the
 * shadow as {@code --prev-images-dir}, exactly as a local set, and this sink then names the parent to the page
 * server by that round name (in the inventory's parent_dir) and sends the runs left to it as a pagemap holding
 * only those runs (addresses, no data). The page server links the round to its own copy of the parent.
 *
 * <p>Used by one thread at a time (the dump's); owns the sender, not its client.
 */
public final class NetworkImageSink implements ImageSink {
    private final RoundSender sender;
    private final String server;
    /** In a shadow directory: the name of the round on the page server, so a child round can name its parent. */
    public static final String ROUND_FILE = "page-server-round";
    private final Set<String> written = new HashSet<>();
    private final ImageWriter shadow;
    private ProcessTree pstree;
    private Committed committed;
    private boolean aborted;

    public NetworkImageSink(RoundSender sender, String server) {
        this(sender, server, null);
    }

    /** {@code shadowDir}: where the round's metadata is kept locally for a later round to build on; null: nowhere. */
    public NetworkImageSink(RoundSender sender, String server, Path shadowDir) {
        this.sender = sender;
        this.server = server;
        this.shadow = shadowDir == null ? null : ImageWriter.createUnsynced(shadowDir);
    }

    /**
     * The round name on the page server that the shadow {@code dir} stands for, or a one-line refusal when {@code dir}
     * is not a shadow of a round sent to a page server (a local image set cannot be the parent of a network round).
     */
    public static String roundOfShadow(Path dir) {
        Path f = dir.resolve(ROUND_FILE);
        try {
            return Files.readString(f, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new ImageException(dir + " was not sent to a page server (no " + ROUND_FILE + "): a round sent to a"
                    + " page server can only build on a round sent there; give the -D of that earlier network round");
        }
    }

    @Override
    public void writeMessage(ImageKind kind, int pid, Message msg) {
        if (kind == ImageKind.INVENTORY || kind == ImageKind.PAGES)
            throw new IllegalArgumentException(kind + " is not written with writeMessage");
        checkOpen();
        String name = kind.fileName(pid);
        if (!written.add(name)) throw new IllegalStateException(name + " was already sent to " + destination());
        if (kind == ImageKind.PAGEMAP) {
            // the page server builds the index from the batches' addresses; runs left to the parent have no batch,
            // so they travel as a pagemap of only those runs
            PageIndex index = (PageIndex) msg;
            PageIndex.Builder inParent = PageIndex.newBuilder().setPagesFileDataOffset(index.getPagesFileDataOffset());
            PageIndex.Builder shadowIndex = index.toBuilder().clearRuns();
            for (PageRun r : index.getRunsList()) {
                if (r.getInParent()) inParent.addRuns(r);
                shadowIndex.addRuns(r.toBuilder().setInParent(true).setFileOffset(0));
            }
            if (inParent.getRunsCount() > 0) sender.sendFile(name, ImageWriter.fileBytes(kind, inParent.build()));
            if (shadow != null) shadow.writeMessage(kind, pid, shadowIndex.build());
            return;
        }
        if (kind == ImageKind.PSTREE) pstree = (ProcessTree) msg;
        sender.sendFile(name, ImageWriter.fileBytes(kind, msg));
        if (shadow != null) shadow.writeMessage(kind, pid, kind == ImageKind.MM ? withoutShmemContents((MmImage) msg) : msg);
    }

    /** The shadow keeps no data: its mm describes the shared memory objects without their contents. */
    private static MmImage withoutShmemContents(MmImage mm) {
        MmImage.Builder b = mm.toBuilder().setShmemFile(false);
        for (ShmemObject.Builder o : b.getShmemObjectsBuilderList()) o.clearRuns();
        return b.build();
    }

    @Override
    public PageSink openPages(int pid) {
        checkOpen();
        String name = ImageKind.PAGES.fileName(pid);
        if (written.contains(name)) throw new IllegalStateException(name + " was already sent to " + destination());
        // opened now, before the dump freezes the process: it holds no page, only its header, but opening it costs
        // a staging buffer, and close() runs while the process is frozen
        PageSink shadowPages = shadow != null ? shadow.openPages(pid) : null;
        return new PageSink() {
            private long appended;
            private boolean closed;
            private NetworkShmemSink shmem;

            @Override
            public ShmemSink shmem() {
                if (shmem == null) shmem = new NetworkShmemSink(sender, ImageKind.SHMEM.fileName(pid));
                return shmem;
            }

            @Override
            public boolean wantsAddresses() { return true; }

            @Override
            public long append(ByteBuffer pages) {
                throw new UnsupportedOperationException("pages sent to a page server need their address");
            }

            @Override
            public long append(long vaddr, ByteBuffer pages) {
                if (closed) throw new IllegalStateException(name + " is already closed");
                long at = ImageFormat.PAGES_DATA_OFFSET + appended;
                int len = pages.remaining();
                if (len == 0) return at;
                sender.sendPages(pid, vaddr, MemorySegment.ofBuffer(pages));   // returns once copied out
                pages.position(pages.limit());
                appended += len;
                return at;
            }

            @Override
            public long bytesAppended() { return appended; }

            @Override
            public void close() {
                if (closed) return;
                closed = true;
                if (shmem != null) shmem.finish();
                written.add(name);
                if (shadowPages != null) shadowPages.close();   // the shadow holds no page, only the index
            }
        };
    }

    @Override
    public Inventory commit(Inventory.Builder inventory) {
        checkOpen();
        if (pstree == null) throw new ImageException("cannot commit to " + destination() + ": pstree.img was not sent");
        String problem = ImageSink.incompleteness(pstree, inventory.getRootPid(), written, inventory.getPreDump());
        if (problem != null) throw new ImageException("cannot commit to " + destination() + ": " + problem);
        Inventory local = inventory.setFormatVersion(ImageFormat.VERSION).clearFiles().build();
        Inventory inv = local;
        if (!local.getParentDir().isEmpty())   // a path on this host: the page server knows the parent by round name
            inv = local.toBuilder().setParentDir(roundOfShadow(Path.of(local.getParentDir())))
                    .clearParentInventoryCrc32C().build();
        committed = sender.commit(inv.toByteArray());
        sender.close();
        if (shadow != null) {
            try {
                Files.writeString(shadow.directory().resolve(ROUND_FILE), sender.round() + "\n", StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new ImageException("round " + sender.round() + " is committed on " + server + ", but its shadow "
                        + shadow.directory() + " could not be written: " + e.getMessage(), e);
            }
            shadow.commit(local.toBuilder());
        }
        return inv;
    }

    @Override
    public void abort() {
        if (committed != null || aborted) return;
        aborted = true;
        if (shadow != null) shadow.abort();
        sender.close();       // streams closed without a commit: the page server discards the round
    }

    /** The page server's directory for the set once committed, else where it is going. */
    @Override
    public String destination() {
        return committed != null ? committed.getDirectory() : "page server " + server + " (round " + sender.round() + ")";
    }

    /** The page server's answer to the commit, or null before it. */
    public Committed committed() { return committed; }

    private void checkOpen() {
        if (committed != null) throw new IllegalStateException("round " + sender.round() + " is already committed");
        if (aborted) throw new IllegalStateException("round " + sender.round() + " was aborted");
    }
}
