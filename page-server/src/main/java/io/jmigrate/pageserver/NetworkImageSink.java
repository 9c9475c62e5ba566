package io.jmigrate.pageserver;

import com.google.protobuf.Message;
import io.jmigrate.engine.image.ImageException;
import io.jmigrate.engine.image.ImageFormat;
import io.jmigrate.engine.image.ImageKind;
import io.jmigrate.engine.image.ImageSink;
import io.jmigrate.engine.image.ImageWriter;
import io.jmigrate.engine.image.PageSink;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.ProcessTree;
import io.jmigrate.transport.RoundSender;
import io.jmigrate.transport.proto.Committed;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;

/**
 * The engine's {@link ImageSink} over a {@link RoundSender}: a dump straight to a page server. Metadata images go
 * as files with the bytes {@link ImageWriter} would have written, pages as batches by (pid, vaddr), and the
 * inventory as the commit, only when the dump calls {@link #commit}. The page server rebuilds what only it can
 * (pagemap, pages headers, file list), exactly as for {@link ImageSetSender}, so the set it stores is the one a
 * local dump followed by send-images would give. Closing without a commit closes the streams: the page server
 * discards the round.
 *
 * <p>Used by one thread at a time (the dump's); owns the sender, not its client.
 */
public final class NetworkImageSink implements ImageSink {
    private final RoundSender sender;
    private final String server;
    private final Set<String> written = new HashSet<>();
    private ProcessTree pstree;
    private Committed committed;
    private boolean aborted;

    public NetworkImageSink(RoundSender sender, String server) {
        this.sender = sender;
        this.server = server;
    }

    @Override
    public void writeMessage(ImageKind kind, int pid, Message msg) {
        if (kind == ImageKind.INVENTORY || kind == ImageKind.PAGES)
            throw new IllegalArgumentException(kind + " is not written with writeMessage");
        checkOpen();
        String name = kind.fileName(pid);
        if (!written.add(name)) throw new IllegalStateException(name + " was already sent to " + destination());
        byte[] bytes = ImageWriter.fileBytes(kind, msg);
        if (kind == ImageKind.PAGEMAP) {
            // the page server builds the index from the batches' addresses: runs it has no batch for would be lost
            for (PageRun r : ((PageIndex) msg).getRunsList())
                if (r.getInParent()) throw new ImageException(name + " has pages left to a parent image set, which "
                        + destination() + " cannot link to");
            return;
        }
        if (kind == ImageKind.PSTREE) pstree = (ProcessTree) msg;
        sender.sendFile(name, bytes);
    }

    @Override
    public PageSink openPages(int pid) {
        checkOpen();
        String name = ImageKind.PAGES.fileName(pid);
        if (written.contains(name)) throw new IllegalStateException(name + " was already sent to " + destination());
        return new PageSink() {
            private long appended;
            private boolean closed;

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
                written.add(name);
            }
        };
    }

    @Override
    public Inventory commit(Inventory.Builder inventory) {
        checkOpen();
        if (pstree == null) throw new ImageException("cannot commit to " + destination() + ": pstree.img was not sent");
        String problem = ImageSink.incompleteness(pstree, inventory.getRootPid(), written, inventory.getPreDump());
        if (problem != null) throw new ImageException("cannot commit to " + destination() + ": " + problem);
        Inventory inv = inventory.setFormatVersion(ImageFormat.VERSION).clearFiles().build();
        committed = sender.commit(inv.toByteArray());
        sender.close();
        return inv;
    }

    @Override
    public void abort() {
        if (committed != null || aborted) return;
        aborted = true;
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
