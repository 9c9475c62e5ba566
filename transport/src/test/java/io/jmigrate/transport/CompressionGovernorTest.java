package io.jmigrate.transport;

import org.junit.jupiter.api.Test;

import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The AUTO policy on a simulated link: each 256 KiB batch takes the time the link (or the CPUs) need for it in the
 * current mode, and the governor must settle on the faster mode and follow a change of conditions.
 */
class CompressionGovernorTest {
    private static final long BATCH = 256 << 10;

    /** Time and the governor, advanced batch by batch at the rate (GB/s of memory) each mode achieves. */
    private static final class SimulatedLink {
        long now;
        final CompressionGovernor governor = new CompressionGovernor(() -> now, 0);
        long rawBatches, lz4Batches;

        void send(double seconds, double rawRate, double lz4Rate) {
            long end = now + (long) (seconds * 1e9);
            while (now < end) {
                boolean lz4 = governor.compress();
                now += (long) (BATCH / (lz4 ? lz4Rate : rawRate));
                if (lz4) lz4Batches++; else rawBatches++;
                governor.sent(BATCH, lz4);
            }
        }

        double lz4Share() { return lz4Batches / (double) (lz4Batches + rawBatches); }

        void reset() { rawBatches = lz4Batches = 0; }
    }

    @Test
    void aSlowLinkKeepsCompressionOnApartFromShortProbes() {
        SimulatedLink link = new SimulatedLink();
        link.send(20, 0.12, 0.22);     // 1 Gb/s link: compression nearly doubles what it carries
        assertTrue(link.lz4Share() > 0.8, "share compressed " + link.lz4Share());
        assertTrue(link.governor.compress());
    }

    @Test
    void aFastLinkOrSharedCoresKeepCompressionOffApartFromShortProbes() {
        SimulatedLink link = new SimulatedLink();
        link.send(20, 0.9, 0.55);      // loopback on two shared cores: LZ4 costs more CPU than it saves
        assertTrue(link.lz4Share() < 0.2, "share compressed " + link.lz4Share());
        assertFalse(link.governor.compress());
    }

    @Test
    void followsAChangeOfConditionsWithinOneProbeCycle() {
        SimulatedLink link = new SimulatedLink();
        link.send(10, 0.12, 0.22);
        assertTrue(link.governor.compress());
        link.send(0.25 * (CompressionGovernor.EXPLOIT_PERIODS + 3), 0.9, 0.55);   // the link got fast (or the data random)
        link.reset();
        link.send(5, 0.9, 0.55);
        assertTrue(link.lz4Share() < 0.2, "share compressed after the change " + link.lz4Share());
    }

    @Test
    void startsRawSettlesThenProbesCompression() {
        SimulatedLink link = new SimulatedLink();
        assertFalse(link.governor.compress());
        link.send(0.26, 0.05, 0.5);    // a slow start (warm-up) is not measured
        assertFalse(link.governor.compress(), "the first period settles, the second measures raw");
        assertEquals(0, link.governor.rawRate());
        link.send(0.3, 0.5, 0.5);
        assertTrue(link.governor.compress(), "third period probes LZ4");
        assertEquals(0.5, link.governor.rawRate(), 0.05, "measured on the second period, at the steady rate");
    }

    @Test
    void aTieGoesToRaw() {
        SimulatedLink link = new SimulatedLink();
        link.send(20, 0.5, 0.51);      // compression within the margin: not worth its CPU
        assertTrue(link.lz4Share() < 0.2, "share compressed " + link.lz4Share());
    }
}
