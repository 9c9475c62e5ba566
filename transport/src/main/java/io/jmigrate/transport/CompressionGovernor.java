package io.jmigrate.transport;

/**
 * Decides, for {@link Compression#AUTO}, whether a round's batches are compressed, by measurement: the round is
 * cut into periods of at least {@link #PERIOD_NANOS}; after one raw period that is not measured (connections,
 * page faults on first touch and the JIT make a round's first moments slow, which would favour whatever mode is
 * probed second), it measures one raw and one compressed period, keeps the mode that moved more memory per second
 * for {@link #EXPLOIT_PERIODS} periods, then tries the other mode for one period and compares again. Compression
 * must win by {@link #LZ4_MARGIN}: its CPU cost on the receiving side shows in the sender's rate only through
 * back-pressure, and raw is the cheaper choice when the two are close.
 *
 * <p>At the start and after a switch, a period is measured only once twice what the round's pipeline holds (the
 * streams' in-flight windows and socket buffers) has moved in the new mode: until then the sender's rate is set by
 * filling that pipeline, or by frames of the old mode still draining from it (24 MiB take half a second on a
 * 400 Mbit/s link, longer than a period). On loopback that is a few tens of milliseconds. Throughput in memory moved per second is the quantity both the link and the CPUs
 * limit, so the same rule is right on a slow link (compression wins), on a fast one and on loopback (it loses),
 * and when sender and receiver compete for the same cores, where a model of link speed against compressor speed
 * would misjudge.
 *
 * <p>Thread-safe; called once per batch by every stream's sending thread (a few thousand times a second).
 */
final class CompressionGovernor {
    static final long PERIOD_NANOS = 250_000_000L;
    static final int EXPLOIT_PERIODS = 8;
    static final double LZ4_MARGIN = 1.05;

    private enum Phase { SETTLE, PROBE_RAW, PROBE_LZ4, EXPLOIT, PROBE_OTHER }

    private final java.util.function.LongSupplier clock;
    private final long transitionBytes;
    private long transitionLeft;
    private volatile boolean compress;
    private Phase phase = Phase.SETTLE;
    private long periodStart;
    private long periodBytes;
    private double rawRate, lz4Rate;
    private int exploitLeft;
    private long batches, compressedBatches;

    /** @param pipelineBytes what the round's streams may hold between sender and receiver (windows, socket buffers) */
    CompressionGovernor(long pipelineBytes) {
        this(System::nanoTime, pipelineBytes);
    }

    /** With another clock (nanoseconds), for tests. */
    CompressionGovernor(java.util.function.LongSupplier clock, long pipelineBytes) {
        this.clock = clock;
        this.periodStart = clock.getAsLong();
        this.transitionBytes = 2 * pipelineBytes;
        this.transitionLeft = transitionBytes;
    }

    /** Whether the next batch should be compressed. */
    boolean compress() { return compress; }

    /** Records a batch of {@code memoryBytes} (holes included) sent in the current mode. */
    synchronized void sent(long memoryBytes, boolean compressed) {
        batches++;
        if (compressed) compressedBatches++;
        long now = clock.getAsLong();
        if (transitionLeft > 0) {   // the pipeline is still filling, or draining the other mode's frames
            transitionLeft -= memoryBytes;
            if (transitionLeft <= 0) {
                periodStart = now;
                periodBytes = 0;
            }
            return;
        }
        periodBytes += memoryBytes;
        long elapsed = now - periodStart;
        if (elapsed < PERIOD_NANOS) return;
        double rate = periodBytes / (double) elapsed;
        if (phase != Phase.SETTLE) {
            if (compress) lz4Rate = rate; else rawRate = rate;
        }
        periodStart = now;
        periodBytes = 0;
        boolean was = compress;
        switch (phase) {
            case SETTLE -> phase = Phase.PROBE_RAW;
            case PROBE_RAW -> { phase = Phase.PROBE_LZ4; compress = true; }
            case PROBE_LZ4, PROBE_OTHER -> {
                phase = Phase.EXPLOIT;
                exploitLeft = EXPLOIT_PERIODS;
                compress = lz4Rate > rawRate * LZ4_MARGIN;
            }
            case EXPLOIT -> {
                if (--exploitLeft == 0) { phase = Phase.PROBE_OTHER; compress = !compress; }
            }
        }
        if (was != compress) transitionLeft = transitionBytes;
    }

    /** Fraction of batches sent in compressed mode so far. */
    synchronized double compressedShare() { return batches == 0 ? 0 : compressedBatches / (double) batches; }

    /** The last measured rates, bytes of memory per nanosecond (= GB/s), raw and compressed. */
    synchronized double rawRate() { return rawRate; }
    synchronized double lz4Rate() { return lz4Rate; }
}
