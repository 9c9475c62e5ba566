package io.jmigrate.pageserver;

import io.jmigrate.engine.image.ImageKind;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.ImageWriter;
import io.jmigrate.engine.image.PagesReader;
import io.jmigrate.engine.image.proto.ImageFile;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.ShmemObject;
import io.jmigrate.engine.image.proto.ShmemRun;
import io.jmigrate.transport.RoundSender;
import io.jmigrate.transport.TransportException;
import io.jmigrate.transport.Wire;
import io.jmigrate.transport.proto.Committed;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Streams a local image set to a page server: every metadata file whole, every pages file as page batches by
 * address (the receiver rebuilds pagemap and inventory), shared memory contents as shmem-PID.img (with the mm
 * rewritten to point there), then the commit. The resulting set holds the same
 * processes and the same memory, page for page.
 */
public final class ImageSetSender {
    private ImageSetSender() {}

    /** What was sent. */
    public record Result(Committed committed, long files, long pages, long holes, long wireBytes, long nanos) {}

    public static Result send(ImageSet set, RoundSender sender) {
        return send(set, sender, 0);
    }

    /**
     * As {@link #send(ImageSet, RoundSender)}, keeping memory under {@code maxBytesPerSecond} (0: no limit) so a
     * migration does not starve the link it shares.
     */
    public static Result send(ImageSet set, RoundSender sender, long maxBytesPerSecond) {
        long start = System.nanoTime();
        long files = 0, pages = 0;
        try (Arena arena = Arena.ofShared()) {   // shared: the streams' threads encode the mapped pages in parallel
            for (int pid : set.pids()) {
                if (!hasPages(set, pid)) continue;
                MemorySegment data;
                try (PagesReader r = set.openPages(pid)) {
                    data = r.mapData(arena);
                }
                // a set deduplicated by --auto-dedup sends only the pages it still holds: the copy on the server is
                // an ordinary set without them (the dedup fields are not sent), never zeros passed off as pages
                for (PageRun run : set.heldRuns(pid)) {
                    long len = run.getNrPages() * Wire.PAGE_SIZE;
                    long from = run.getFileOffset() - set.pagesDataOffset();
                    for (long off = 0; off < len; off += CHUNK) {
                        long n = Math.min(CHUNK, len - off);
                        sender.sendPages(pid, run.getVaddr() + off, data.asSlice(from + off, n));
                        pages += n / Wire.PAGE_SIZE;
                        if (maxBytesPerSecond > 0) pace(start, pages * Wire.PAGE_SIZE, maxBytesPerSecond);
                    }
                }
            }
        }
        for (ImageFile f : set.inventory().getFilesList()) {
            ImageKind kind = ImageKind.ofFileName(f.getName());
            if (kind.raw() || kind == ImageKind.PAGEMAP || kind == ImageKind.INVENTORY) continue;
            try {
                MmImage withShmemFile = kind == ImageKind.MM ? sendShmem(set, ImageKind.pidOf(f.getName()), sender) : null;
                if (withShmemFile != null) {
                    sender.sendFile(f.getName(), ImageWriter.fileBytes(kind, withShmemFile));
                } else {
                    sender.sendFile(f.getName(), Files.readAllBytes(set.directory().resolve(f.getName())));
                }
            } catch (IOException e) {
                throw new TransportException("cannot read " + set.directory().resolve(f.getName()) + ": " + e.getMessage(), e);
            }
            files++;
        }
        Committed c = sender.commit(set.inventory().toBuilder().clearDroppedPages().clearDeduplicated()
                .clearOriginInventoryCrc32C().build().toByteArray());
        return new Result(c, files, pages, sender.holesSent(), sender.wireBytes(), System.nanoTime() - start);
    }

    /**
     * Sends the contents of the shmem objects {@code pid} owns as shmem-PID.img (a local set keeps them in the
     * pages file, whose layout the page server does not keep) and returns the mm pointing at it; null when it owns
     * no shared memory contents (its mm is sent as it is).
     */
    private static MmImage sendShmem(ImageSet set, int pid, RoundSender sender) throws IOException {
        MmImage mm = set.mm(pid);
        if (mm.getShmemObjectsList().stream().allMatch(o -> o.getRunsCount() == 0)) return null;
        NetworkShmemSink shmem = new NetworkShmemSink(sender, ImageKind.SHMEM.fileName(pid));
        MmImage.Builder sent = mm.toBuilder().setShmemFile(true);
        try (FileChannel from = FileChannel.open(set.shmemContentsPath(pid), StandardOpenOption.READ)) {
            for (ShmemObject.Builder o : sent.getShmemObjectsBuilderList()) {
                for (ShmemRun.Builder r : o.getRunsBuilderList())
                    r.setFileOffset(shmem.copy(from, r.getFileOffset(), r.getLength(), r.getLength()));
            }
        }
        shmem.finish();
        return sent.build();
    }

    /** Memory handed to the sender at a time: big enough to keep every stream busy. */
    private static final long CHUNK = 16L << 20;

    private static void pace(long start, long bytes, long maxBytesPerSecond) {
        long due = start + (long) (bytes * 1e9 / maxBytesPerSecond);
        long wait = due - System.nanoTime();
        if (wait > 0) java.util.concurrent.locks.LockSupport.parkNanos(wait);
    }

    private static boolean hasPages(ImageSet set, int pid) {
        String name = ImageKind.PAGES.fileName(pid);
        return set.inventory().getFilesList().stream().anyMatch(f -> f.getName().equals(name));
    }

    /** Convenience for callers that only have a directory. */
    public static Result send(Path dir, RoundSender sender) {
        return send(ImageSet.open(dir), sender);
    }
}
