package io.jmigrate.engine.check;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.jmigrate.engine.check.DirtyTracking.FULL_COPY;
import static io.jmigrate.engine.check.DirtyTracking.SOFT_DIRTY;
import static io.jmigrate.engine.check.DirtyTracking.UFFD_WP_ASYNC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dirty-tracker selection on every combination of probed facts, with and without a forced backend. */
class TrackingCapabilitiesTest {
    /** uffd-wp-async, pagemap-scan, soft-dirty -> backends tried, best first (written out, not derived). */
    private static final Map<List<Boolean>, List<DirtyTracking>> EXPECTED = Map.of(
            List.of(true, true, true), List.of(UFFD_WP_ASYNC, SOFT_DIRTY, FULL_COPY),
            List.of(true, true, false), List.of(UFFD_WP_ASYNC, FULL_COPY),          // this kernel
            List.of(true, false, true), List.of(SOFT_DIRTY, FULL_COPY),             // uffd-wp without PAGEMAP_SCAN
            List.of(true, false, false), List.of(FULL_COPY),
            List.of(false, true, true), List.of(SOFT_DIRTY, FULL_COPY),
            List.of(false, true, false), List.of(FULL_COPY),
            List.of(false, false, true), List.of(SOFT_DIRTY, FULL_COPY),
            List.of(false, false, false), List.of(FULL_COPY));

    @Test
    void everyCombinationOfFactsSelectsTheBestUsableBackendThenFallsBackDownToFullCopy() {
        assertEquals(8, EXPECTED.size());
        EXPECTED.forEach((facts, order) -> {
            TrackingCapabilities caps = new TrackingCapabilities(facts.get(0), facts.get(1), facts.get(2));
            assertEquals(order, caps.candidates(null), facts.toString());
            assertEquals(order.getFirst(), caps.best(), facts.toString());
            assertEquals(order.getFirst(), DirtyTracking.choose(facts.get(0), facts.get(1), facts.get(2)));
            for (DirtyTracking forced : DirtyTracking.values()) {
                List<DirtyTracking> only = caps.candidates(forced);
                assertEquals(order.contains(forced) ? List.of(forced) : List.of(), only, facts + " forced " + forced);
                if (only.isEmpty()) assertTrue(caps.missing(forced) != null && !caps.missing(forced).isBlank());
                else assertNull(caps.missing(forced));
            }
        });
    }

    @Test
    void aMissingPagemapScanIsNamedWhenUffdWpIsPassedOver() {
        TrackingCapabilities noScan = new TrackingCapabilities(true, false, false);
        assertTrue(noScan.missing(UFFD_WP_ASYNC).contains("PAGEMAP_SCAN"), noScan.missing(UFFD_WP_ASYNC));
        assertTrue(noScan.whyNotBetterThan(FULL_COPY).contains("PAGEMAP_SCAN"));
        assertTrue(noScan.whyNotBetterThan(FULL_COPY).contains("soft-dirty"));
        assertEquals("", new TrackingCapabilities(true, true, false).whyNotBetterThan(UFFD_WP_ASYNC));
    }

    @Test
    void theProbeOverrideParsesNamedFactsAndRefusesAnythingElseInOneLine() {
        assertEquals(Map.of(), TrackingCapabilities.parseOverrides(null));
        assertEquals(Map.of(), TrackingCapabilities.parseOverrides(" "));
        assertEquals(Map.of("pagemap-scan", false), TrackingCapabilities.parseOverrides("pagemap-scan=no"));
        assertEquals(Map.of("uffd-wp-async", true, "pagemap-scan", false, "soft-dirty", false),
                TrackingCapabilities.parseOverrides("uffd-wp-async=yes, pagemap-scan=no,soft-dirty=no"));
        for (String bad : List.of("pagemap-scan", "pagemap_scan=no", "soft-dirty=maybe", "pagemap-scan=no,,")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrackingCapabilities.parseOverrides(bad));
            assertTrue(e.getMessage().startsWith(TrackingCapabilities.PROBE_ENV + "=") && !e.getMessage().contains("\n"), e.getMessage());
        }
    }
}
