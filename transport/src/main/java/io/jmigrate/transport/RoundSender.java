package io.jmigrate.transport;

import com.google.protobuf.ByteString;
import io.jmigrate.transport.proto.Commit;
import io.jmigrate.transport.proto.Committed;
import io.jmigrate.transport.proto.Control;
import io.jmigrate.transport.proto.FileData;
import io.jmigrate.transport.proto.Flush;
import io.jmigrate.transport.proto.Flushed;
import io.jmigrate.transport.proto.Hello;
import io.jmigrate.transport.proto.Purpose;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sends one round (one image set) to a receiver over several parallel streams: metadata files whole, memory as
 * page batches, then a commit. The receiver stores the round under a temporary name and renames it into place only
 * on {@link #commit}; closing without a commit (or dying) makes it discard the round.
 *
 * <p>Each stream has its own encoder thread (zero-page scan, copy, CRC32C, LZ4), so encoding uses several cores
 * while the event loops encrypt. {@link #sendPages} splits the memory into batches, deals them round-robin to the
 * streams and returns once every batch has been copied out: the caller may reuse its memory then. Memory use is
 * bounded: a few queued batches per stream plus the stream's in-flight limit.
 *
 * <p>{@link #sendFile}, {@link #sendPages} and {@link #commit} may be called from one thread at a time.
 */
public final class RoundSender implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration COMMIT_TIMEOUT = Duration.ofMinutes(5);
    private static final int QUEUED_BATCHES_PER_STREAM = 4;
    /** Name prefix of the encoding threads, followed by the round name (the bench counts their CPU). */
    static final String ENCODER_THREADS = "jmigrate-encode-";

    /** Pages to encode, or (for memory only the caller's thread may read) a frame the caller encoded. */
    private record Job(int pid, long vaddr, MemorySegment pages, ByteBuf frame, CountDownLatch done) {}
    private static final Job STOP = new Job(0, 0, null, null, null);

    private final List<ClientStream> streams = new ArrayList<>();
    private final List<Worker> workers = new ArrayList<>();
    private final String round;
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
    private final AtomicLong batchesSent = new AtomicLong();
    private final AtomicLong pagesSent = new AtomicLong();
    private int nextStream;
    private BatchEncoder callerEncoder;   // for confined memory, which worker threads may not read
    private final boolean holes;
    private final Compression compression;
    private final CompressionGovernor governor;   // AUTO only
    private boolean committed, closed;

    private RoundSender(String round, Compression compression, boolean holes, long pipelineBytes) {
        this.round = round;
        this.compression = compression;
        this.governor = compression == Compression.AUTO ? new CompressionGovernor(pipelineBytes) : null;
        this.holes = holes;
    }

    /**
     * Opens {@code streamCount} streams to {@code server} for round {@code round} (the directory name the receiver
     * stores it under). {@code compress} true compresses every batch that LZ4 shrinks (see {@link Compression}).
     */
    public static RoundSender open(TransportClient client, InetSocketAddress server, String round, int streamCount,
                                   boolean compress) {
        return open(client, server, round, streamCount, compress ? Compression.ALWAYS : Compression.NEVER, true);
    }

    /** As above with a compression policy. */
    public static RoundSender open(TransportClient client, InetSocketAddress server, String round, int streamCount,
                                   Compression compression) {
        return open(client, server, round, streamCount, compression, true);
    }

    /** As above; {@code holes} false sends zero pages as bytes (baseline measurements only). */
    public static RoundSender open(TransportClient client, InetSocketAddress server, String round, int streamCount,
                                   Compression compression, boolean holes) {
        if (streamCount < 1 || streamCount > 64) throw new IllegalArgumentException("1 to 64 streams, not " + streamCount);
        byte[] session = new byte[16];
        RANDOM.nextBytes(session);
        // what the streams hold between us and the receiver: the in-flight windows, and about 4 MiB of socket
        // buffers each (Linux's default tcp_wmem maximum)
        RoundSender s = new RoundSender(round, compression, holes, (long) streamCount * (client.inFlightLimit() + (4L << 20)));
        try {
            for (int i = 0; i < streamCount; i++) {
                Hello hello = Hello.newBuilder().setProtocolVersion(Wire.PROTOCOL_VERSION).setPurpose(Purpose.SEND_ROUND)
                        .setSessionId(ByteString.copyFrom(session)).setStreamIndex(i).setStreamCount(streamCount)
                        .setRound(round).setSenderHost(client.localHost()).build();
                ClientStream stream = client.connect(server, hello);
                s.streams.add(stream);
                Worker w = s.new Worker(stream, new BatchEncoder(compression != Compression.NEVER, holes), i);
                s.workers.add(w);
                w.thread.start();
            }
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** Sends a metadata image file whole (split into chunks if large), on stream 0. */
    public void sendFile(String name, byte[] content) {
        int chunk = Wire.MAX_CONTROL_BYTES - 1024;
        int off = 0;
        do {
            int n = Math.min(chunk, content.length - off);
            sendFileChunk(name, off, content, off, n, off + n == content.length);
            off += n;
        } while (off < content.length);
    }

    /**
     * Sends {@code length} bytes of {@code content} from {@code from} as the part of file {@code name} at
     * {@code offset}, on stream 0 (in order with every other file chunk); {@code last} completes the file. The
     * bytes are copied before this returns. A chunk must fit a control message (under {@link Wire#MAX_CONTROL_BYTES}).
     */
    public void sendFileChunk(String name, long offset, byte[] content, int from, int length, boolean last) {
        checkUsable();
        if (length > Wire.MAX_CONTROL_BYTES - 1024) throw new IllegalArgumentException("a file chunk of " + length + " bytes");
        streams.getFirst().sendControl(Control.newBuilder().setFile(FileData.newBuilder().setName(name).setOffset(offset)
                .setContent(ByteString.copyFrom(content, from, length)).setLast(last)).build());
    }

    /**
     * Sends {@code pages} (a whole number of pages) as the memory of {@code pid} at {@code vaddr}. Zero pages travel as
     * holes. Returns when every byte has been copied out of {@code pages}. Memory that other threads may read
     * (global, shared or auto arena, mapped files) is encoded by the streams' threads in parallel; memory confined
     * to the caller's thread is encoded by the caller.
     */
    public void sendPages(int pid, long vaddr, MemorySegment pages) {
        checkUsable();
        long size = pages.byteSize();
        if (size % Wire.PAGE_SIZE != 0) throw new IllegalArgumentException(size + " bytes is not a whole number of pages");
        long batchBytes = (long) Wire.SEND_BATCH_PAGES * Wire.PAGE_SIZE;
        int batches = (int) ((size + batchBytes - 1) / batchBytes);
        CountDownLatch done = new CountDownLatch(batches);
        for (long off = 0; off < size; off += batchBytes) {
            Worker w = workers.get(nextStream);
            MemorySegment slice = pages.asSlice(off, Math.min(batchBytes, size - off));
            Job job;
            if (slice.isAccessibleBy(w.thread)) {
                job = new Job(pid, vaddr + off, slice, null, done);
            } else {
                if (callerEncoder == null) callerEncoder = new BatchEncoder(compression != Compression.NEVER, holes);
                boolean lz4 = tryCompress();
                // copied out here: nothing to wait for (many small runs, as a final dump sends, then cost no round
                // trip to the stream's thread each)
                job = new Job(pid, vaddr + off, slice, callerEncoder.encode(Transport.ALLOCATOR, pid, vaddr + off, slice, lz4), null);
                done.countDown();
                if (governor != null) governor.sent(slice.byteSize(), lz4);
            }
            nextStream = (nextStream + 1) % workers.size();
            try {
                while (!w.queue.offer(job, 200, java.util.concurrent.TimeUnit.MILLISECONDS)) checkFailure();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TransportException("interrupted while sending pages");
            }
        }
        try {
            while (!done.await(200, java.util.concurrent.TimeUnit.MILLISECONDS)) checkFailure();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException("interrupted while sending pages");
        }
        checkFailure();
    }

    /**
     * Ends the round: waits until the receiver has stored everything sent on every stream, then sends the
     * inventory (the sender's Inventory message; the receiver rebuilds its file list) and waits for the receiver to
     * rename the round into place. Returns the receiver's answer.
     */
    public Committed commit(byte[] inventory) {
        checkUsable();
        for (Worker w : workers) w.stop();
        checkFailure();
        long batches = 0, pages = 0;
        for (int i = 0; i < streams.size(); i++) {
            ClientStream s = streams.get(i);
            s.sendControl(Control.newBuilder().setFlush(Flush.newBuilder().setSequence(1)).build());
            Flushed f = s.awaitControl(Control.KindCase.FLUSHED, COMMIT_TIMEOUT).getFlushed();
            batches += f.getBatches();
            pages += f.getPages();
        }
        if (batches != batchesSent.get() || pages != pagesSent.get())
            throw new TransportException("the receiver stored " + batches + " batches (" + pages + " pages) of the "
                    + batchesSent.get() + " (" + pagesSent.get() + " pages) sent");
        ClientStream s0 = streams.getFirst();
        s0.sendControl(Control.newBuilder().setCommit(Commit.newBuilder()
                .setInventory(ByteString.copyFrom(inventory)).setTotalBatches(batches).setTotalPages(pages)).build());
        Committed c = s0.awaitControl(Control.KindCase.COMMITTED, COMMIT_TIMEOUT).getCommitted();
        committed = true;
        return c;
    }

    private boolean tryCompress() {
        return governor != null ? governor.compress() : compression == Compression.ALWAYS;
    }

    public String round() { return round; }

    public Compression compression() { return compression; }

    /** For AUTO: the last measured rates of each mode, in words; empty otherwise. */
    public String compressionMeasurements() {
        if (governor == null) return "";
        return String.format(java.util.Locale.ROOT, "last measured: raw %.3f GB/s, LZ4 %.3f GB/s of memory",
                governor.rawRate(), governor.lz4Rate());
    }

    /** Share of batches sent while compression was on (1 for ALWAYS, 0 for NEVER, measured for AUTO). */
    public double compressedShare() {
        return governor != null ? governor.compressedShare() : compression == Compression.ALWAYS ? 1 : 0;
    }
    public long batchesSent() { return batchesSent.get(); }
    public long pagesSent() { return pagesSent.get(); }

    /** Zero pages sent as holes so far. */
    public long holesSent() {
        long n = callerEncoder == null ? 0 : callerEncoder.holesOut();
        for (Worker w : workers) n += w.encoder.holesOut();
        return n;
    }

    /** Frame bytes sent so far (before TLS). */
    public long wireBytes() {
        long n = callerEncoder == null ? 0 : callerEncoder.bytesOut();
        for (Worker w : workers) n += w.encoder.bytesOut();
        return n;
    }

    /** The largest number of bytes any one stream ever had queued for its socket. */
    public long maxInFlightBytes() {
        long m = 0;
        for (ClientStream s : streams) m = Math.max(m, s.maxInFlight());
        return m;
    }

    /** Bytes queued for the sockets right now, over all streams. */
    public long inFlightBytes() {
        long n = 0;
        for (ClientStream s : streams) n += s.inFlight();
        return n;
    }

    private void checkUsable() {
        if (closed) throw new IllegalStateException("round " + round + " is closed");
        if (committed) throw new IllegalStateException("round " + round + " is already committed");
        checkFailure();
    }

    private void checkFailure() {
        RuntimeException e = failure.get();
        if (e != null) throw e;
    }

    /** Closes every stream; without a commit the receiver discards the round. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Worker w : workers) w.thread.interrupt();
        for (ClientStream s : streams) s.close();
        for (Worker w : workers) {
            try {
                w.thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Encodes and writes the batches dealt to one stream. */
    private final class Worker implements Runnable {
        final ClientStream stream;
        final BatchEncoder encoder;
        final BlockingQueue<Job> queue = new ArrayBlockingQueue<>(QUEUED_BATCHES_PER_STREAM);
        final Thread thread;

        Worker(ClientStream stream, BatchEncoder encoder, int index) {
            this.stream = stream;
            this.encoder = encoder;
            this.thread = Thread.ofPlatform().name(ENCODER_THREADS + round + "-" + index).daemon().unstarted(this);
        }

        void stop() {
            try {
                queue.put(STOP);
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TransportException("interrupted while finishing round " + round);
            }
        }

        @Override
        public void run() {
            try {
                for (;;) {
                    Job job = queue.take();
                    if (job == STOP) {
                        stream.flushWritten();
                        return;
                    }
                    if (failure.get() != null) {
                        if (job.frame != null) job.frame.release();
                        if (job.done != null) job.done.countDown();
                        continue;
                    }
                    ByteBuf frame = job.frame;
                    if (frame == null) {
                        boolean lz4 = tryCompress();
                        try {
                            frame = encoder.encode(Transport.ALLOCATOR, job.pid, job.vaddr, job.pages, lz4);
                            if (governor != null) governor.sent(job.pages.byteSize(), lz4);
                        } finally {
                            job.done.countDown();   // the caller's memory is no longer needed
                        }
                    }
                    // frames queued behind this one are written before the flush: one TLS wrap and one socket
                    // write for many small batches
                    stream.sendFrame(frame, !queue.isEmpty());
                    batchesSent.incrementAndGet();
                    pagesSent.addAndGet(job.pages.byteSize() / Wire.PAGE_SIZE);
                }
            } catch (InterruptedException e) {
                failure.compareAndSet(null, new TransportException("round " + round + " was closed while sending"));
            } catch (RuntimeException e) {
                failure.compareAndSet(null, e);
                // drain so a caller waiting on a latch is released
                Job j;
                while ((j = queue.poll()) != null) {
                    if (j.frame != null) j.frame.release();
                    if (j.done != null) j.done.countDown();
                }
            }
        }
    }
}
