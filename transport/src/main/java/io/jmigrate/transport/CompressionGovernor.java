package io.jmigrate.transport;

/**
 * Decides, for {@link Compression#AUTO}, whether a round's batches are compressed, by measurement: the round is
 * cut into periods of at least {@link #PERIOD_NANOS}; it starts with one raw and one compressed period, keeps the
 * mode that moved more memory per second for {@link #EXPLOIT_PERIODS} periods, then tries the other mode for one
 * period and compares again. Throughput in memory moved per second is the quantity both the link and the CPUs
 * limit, so the same rule is right on a slow link (compression wins), on a fast one and on loopback (it loses),
 * and when sender and receiver compete for the same cores, where a model of link speed against compressor speed
 * would misjudge.
 *
 * <p>Thread-safe; called once per batch by every stream's sending thread (a few thousand times a second).
 */
final class CompressionGovernor {
    static final long PERIOD_NANOS = 250_000_000L;
    static final int EXPLOIT_PERIODS = 8;

    private enum Phase { PROBE_RAW, PROBE_LZ4, EXPLOIT, PROBE_OTHER }

    private final java.util.function.LongSupplier clock;
    private volatile boolean compress;
    private Phase phase = Phase.PROBE_RAW;
    private long periodStart;
    private long periodBytes;
    private double rawRate, lz4Rate;
    private int exploitLeft;
    private long batches, compressedBatches, switches;

    CompressionGovernor() {
        this(System::nanoTime);
    }

    /** With another clock (nanoseconds), for tests. */
    CompressionGovernor(java.util.function.LongSupplier clock) {
        this.clock = clock;
        this.periodStart = clock.getAsLong();
    }

    /** Whether the next batch should be compressed. */
    boolean compress() { return compress; }

    /** Records a batch of {@code memoryBytes} (holes included) sent in the current mode. */
    synchronized void sent(long memoryBytes, boolean compressed) {
        batches++;
        if (compressed) compressedBatches++;
        periodBytes += memoryBytes;
        long now = clock.getAsLong();
        long elapsed = now - periodStart;
        if (elapsed < PERIOD_NANOS) return;
        double rate = periodBytes / (double) elapsed;
        if (compress) lz4Rate = rate; else rawRate = rate;
        periodStart = now;
        periodBytes = 0;
        boolean was = compress;
        switch (phase) {
            case PROBE_RAW -> { phase = Phase.PROBE_LZ4; compress = true; }
            case PROBE_LZ4, PROBE_OTHER -> { phase = Phase.EXPLOIT; exploitLeft = EXPLOIT_PERIODS; compress = lz4Rate > rawRate; }
            case EXPLOIT -> {
                if (--exploitLeft == 0) { phase = Phase.PROBE_OTHER; compress = !compress; }
            }
        }
        if (was != compress) switches++;
    }

    /** Fraction of batches sent in compressed mode so far. */
    synchronized double compressedShare() { return batches == 0 ? 0 : compressedBatches / (double) batches; }

    /** The last measured rates, bytes of memory per nanosecond (= GB/s), raw and compressed. */
    synchronized double rawRate() { return rawRate; }
    synchronized double lz4Rate() { return lz4Rate; }
}
