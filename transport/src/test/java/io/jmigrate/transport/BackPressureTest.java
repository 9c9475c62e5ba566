package io.jmigrate.transport;

import io.netty.buffer.ByteBufAllocatorMetricProvider;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A receiver that stores each batch slowly must slow the sender down, not make it buffer: the bytes a stream has
 * queued in Netty stay under its in-flight limit, and the pooled direct memory of the whole process stays small
 * while far more than that is sent. The same run with the limit lifted shows the measure would catch the opposite.
 */
class BackPressureTest {
    private static final int MIB = 1 << 20;
    private static final int SEND_MIB = 96;

    /** The most pooled direct memory in use while SEND_MIB of incompressible pages go to a slow receiver. */
    private static long[] sendToSlowReceiver(int inFlightLimit) throws Exception {
        MemoryReceiver receiver = new MemoryReceiver() {
            @Override
            public RoundSink openRound(String round, String peer, int streamCount) {
                RoundSink inner = super.openRound(round, peer, streamCount);
                return new RoundSink() {
                    public void file(String n, long o, byte[] c, boolean l) {}
                    public void pages(PageBatch b) { java.util.concurrent.locks.LockSupport.parkNanos(4_000_000); }   // ~64 MB/s
                    public String commit(byte[] inv) { return "ok"; }
                    public void abort(String r) { inner.abort(r); }
                    public long bytesStored() { return 0; }
                };
            }
        };
        ByteBufAllocatorMetricProvider alloc = (ByteBufAllocatorMetricProvider) Transport.ALLOCATOR;
        AtomicLong maxDirect = new AtomicLong();
        AtomicBoolean sampling = new AtomicBoolean(true);
        long baseline = alloc.metric().usedDirectMemory();
        Thread sampler = Thread.ofPlatform().start(() -> {
            while (sampling.get()) {
                maxDirect.accumulateAndGet(alloc.metric().usedDirectMemory() - baseline, Math::max);
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
        });
        try (TransportServer server = TransportServer.startPlaintext(new InetSocketAddress("127.0.0.1", 0), receiver);
             TransportClient client = TransportClient.create(null, 1, inFlightLimit, "test");
             Arena arena = Arena.ofShared()) {
            MemorySegment chunk = arena.allocate(8 * MIB, 4096);
            byte[] r = new byte[8 * MIB];
            new Random(11).nextBytes(r);
            MemorySegment.copy(MemorySegment.ofArray(r), 0, chunk, 0, r.length);
            long maxInFlight;
            try (RoundSender s = RoundSender.open(client, server.address(), "slow", 1, true)) {
                for (int i = 0; i < SEND_MIB / 8; i++) s.sendPages(1, 0x100000000L + (long) i * 8 * MIB, chunk);
                s.commit(new byte[0]);
                maxInFlight = s.maxInFlightBytes();
            }
            return new long[]{maxInFlight, maxDirect.get()};
        } finally {
            sampling.set(false);
            sampler.join();
        }
    }

    @Test
    void aSlowReceiverBoundsTheSendersMemory() throws Exception {
        long[] bounded = sendToSlowReceiver(2 * MIB);
        assertTrue(bounded[0] <= 2 * MIB, "in-flight bytes " + bounded[0] + " exceed the 2 MiB limit");
        assertTrue(bounded[1] < 24L * MIB, "pooled direct memory grew to " + bounded[1] / MIB + " MiB while sending "
                + SEND_MIB + " MiB");

        long[] unbounded = sendToSlowReceiver(Integer.MAX_VALUE);   // back-pressure off: the sender buffers it all
        assertTrue(unbounded[0] > 48L * MIB, "without a limit " + unbounded[0] / MIB + " MiB were queued");
        assertTrue(unbounded[1] > 48L * MIB, "without a limit direct memory reached only " + unbounded[1] / MIB + " MiB");
    }
}
