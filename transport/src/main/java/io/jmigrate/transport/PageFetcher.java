package io.jmigrate.transport;

import io.jmigrate.transport.proto.Control;
import io.jmigrate.transport.proto.Hello;
import io.jmigrate.transport.proto.PageReply;
import io.jmigrate.transport.proto.PageRequest;
import io.jmigrate.transport.proto.Purpose;
import io.netty.buffer.ByteBuf;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Lazy pages, client side: asks a page server for address ranges of a committed round and fills the caller's
 * memory. One request at a time per fetcher; open several for parallel faults.
 */
public final class PageFetcher implements AutoCloseable {
    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(30);
    private final ClientStream stream;
    private long nextId = 1;

    private PageFetcher(ClientStream stream) {
        this.stream = stream;
    }

    /** Connects to {@code server} for pages of round {@code round} (its directory name under the server's -D). */
    public static PageFetcher open(TransportClient client, InetSocketAddress server, String round) {
        Hello hello = Hello.newBuilder().setProtocolVersion(Wire.PROTOCOL_VERSION).setPurpose(Purpose.FETCH_PAGES)
                .setStreamCount(1).setRound(round).setSenderHost(client.localHost()).build();
        return new PageFetcher(client.connect(server, hello));
    }

    /**
     * Fetches the {@code dst.byteSize() / 4096} pages of {@code pid} starting at {@code vaddr} into {@code dst}.
     * Fails with the server's one-line reason if the round does not hold all of them.
     */
    public synchronized void fetch(int pid, long vaddr, MemorySegment dst) {
        long size = dst.byteSize();
        if (size == 0 || size % Wire.PAGE_SIZE != 0) throw new IllegalArgumentException(size + " bytes is not a whole number of pages");
        long id = nextId++;
        stream.sendControl(Control.newBuilder().setPageRequest(PageRequest.newBuilder().setRequestId(id).setPid(pid)
                .setVaddr(vaddr).setNrPages((int) (size / Wire.PAGE_SIZE))).build());
        PageReply reply = stream.awaitControl(Control.KindCase.PAGE_REPLY, REPLY_TIMEOUT).getPageReply();
        if (reply.getRequestId() != id) throw new TransportException(stream.peer() + " answered request " + reply.getRequestId() + ", not " + id);
        for (int i = 0; i < reply.getBatches(); i++) {
            PageBatch b = stream.awaitBatch(REPLY_TIMEOUT);
            try {
                long at = b.vaddr() - vaddr;
                if (b.pid() != pid || at < 0 || at + b.byteLength() > size)
                    throw new TransportException(stream.peer() + " sent pages outside the range asked for: " + b);
                copyInto(b, dst, at);
            } finally {
                b.release();
            }
        }
    }

    /** Writes a batch's pages into {@code dst} at {@code at}: data pages copied (runs at a time), holes zeroed. */
    public static void copyInto(PageBatch b, MemorySegment dst, long at) {
        long from = 0;
        int count = b.pageCount();
        for (int p = 0; p < count; ) {
            boolean hole = b.isHole(p);
            int q = p + 1;
            while (q < count && b.isHole(q) == hole) q++;
            long len = (long) (q - p) * Wire.PAGE_SIZE;
            long to = at + (long) p * Wire.PAGE_SIZE;
            if (hole) {
                dst.asSlice(to, len).fill((byte) 0);
            } else {
                for (java.nio.ByteBuffer piece : b.dataBuffers((int) from, (int) len)) {
                    int n = piece.remaining();
                    MemorySegment.copy(MemorySegment.ofBuffer(piece), 0, dst, to, n);
                    to += n;
                }
                from += len;
            }
            p = q;
        }
    }

    @Override
    public void close() {
        stream.close();
    }
}
