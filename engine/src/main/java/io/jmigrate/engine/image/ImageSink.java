package io.jmigrate.engine.image;

import com.google.protobuf.Message;
import io.jmigrate.engine.image.proto.Inventory;

/**
 * Where a dump's image set goes: the local directory ({@link ImageWriter}) or a page server (page-server's
 * NetworkImageSink, wired by the cli). The dump writes metadata images and pages through it and calls
 * {@link #commit} only once everything succeeded; {@link #abort} (or close without a commit) discards the set, so
 * the destination never holds a set that looks complete but is not.
 */
public interface ImageSink extends AutoCloseable {
    /** One proto image (not the inventory, not pages): see {@link ImageWriter#writeMessage}. */
    void writeMessage(ImageKind kind, int pid, Message msg);

    /** Starts the pages of {@code pid}; its {@link PageSink#close()} completes them. */
    PageSink openPages(int pid);

    /** Completes the set (inventory last) after checking it is whole; returns the inventory written. */
    Inventory commit(Inventory.Builder inventory);

    /** Gives up on the set; best effort, never throws; no-op once committed or aborted. */
    void abort();

    /** Where the set went, for messages (a directory, or the page server's directory for it once committed). */
    String destination();

    /** Aborts unless committed. */
    @Override
    default void close() { abort(); }

    /**
     * Why {@code names} (files written so far) do not make a complete set for {@code tree}, or null; what
     * {@link #commit} checks, for sinks outside this package.
     */
    static String incompleteness(io.jmigrate.engine.image.proto.ProcessTree tree, int rootPid,
                                 java.util.Collection<String> names, boolean preDump) {
        return ImageSet.incompleteness(tree, rootPid, names, preDump);
    }
}
