package io.jmigrate.engine.precopy;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PageRangesTest {
    @Test
    void mergesOverlappingAndTouchingRangesInAnyOrder() {
        PageRanges r = PageRanges.builder().add(0x5000, 0x7000).add(0x1000, 0x3000).add(0x3000, 0x4000)
                .add(0x6000, 0x9000).add(0x8000, 0x8000).build();
        assertEquals(2, r.size());
        assertEquals(0x1000, r.start(0));
        assertEquals(0x4000, r.end(0));
        assertEquals(0x5000, r.start(1));
        assertEquals(0x9000, r.end(1));
        assertEquals(7, r.pages());
        assertTrue(r.contains(0x1000));
        assertTrue(r.contains(0x3fff));
        assertFalse(r.contains(0x4000));
        assertFalse(r.contains(0x0fff));
        assertTrue(r.contains(0x8fff));
        assertFalse(r.contains(0x9000));
        assertEquals(3, r.pagesWithin(0x2000, 0x6000));
    }

    @Test
    void aCursorAnswersLikeContainsForIncreasingAndDecreasingAddresses() {
        PageRanges r = PageRanges.builder().add(0x1000, 0x3000).add(0x5000, 0x6000).add(0x9000, 0xa000).build();
        PageRanges.Cursor c = r.cursor();
        for (long a = 0; a < 0xb000; a += 0x800) assertEquals(r.contains(a), c.contains(a), Long.toHexString(a));
        assertTrue(c.contains(0x1000), "back to a lower address");
        assertFalse(c.contains(0x4000));
        assertTrue(c.contains(0x9fff));
    }

    /** intersect, minus and union against a page-by-page model, on random sets of ranges. */
    @Test
    void setOperationsAgreeWithAPageByPageModel() {
        java.util.Random random = new java.util.Random(5);
        for (int round = 0; round < 200; round++) {
            boolean[] inA = new boolean[64], inB = new boolean[64];
            PageRanges a = random(random, inA), b = random(random, inB);
            PageRanges and = a.intersect(b), minus = a.minus(b), or = a.union(b);
            for (int p = 0; p < 64; p++) {
                long addr = 0x10000L + p * 0x1000L;
                assertEquals(inA[p] && inB[p], and.contains(addr), "intersect " + a + " " + b);
                assertEquals(inA[p] && !inB[p], minus.contains(addr), "minus " + a + " " + b);
                assertEquals(inA[p] || inB[p], or.contains(addr), "union " + a + " " + b);
                assertEquals(inA[p], a.overlaps(addr, addr + 0x1000));
            }
        }
    }

    private static PageRanges random(java.util.Random random, boolean[] pages) {
        PageRanges.Builder b = PageRanges.builder();
        for (int i = random.nextInt(6); i > 0; i--) {
            int from = random.nextInt(64), to = Math.min(64, from + 1 + random.nextInt(12));
            for (int p = from; p < to; p++) pages[p] = true;
            b.add(0x10000L + from * 0x1000L, 0x10000L + to * 0x1000L);
        }
        return b.build();
    }

    @Test
    void highAddressesCompareUnsigned() {
        PageRanges r = PageRanges.builder().add(0xffffffffff600000L, 0xffffffffff601000L).add(0x1000, 0x2000).build();
        assertEquals(0x1000, r.start(0));
        assertTrue(r.contains(0xffffffffff600000L));
        assertFalse(PageRanges.EMPTY.contains(0));
    }

    @Test
    void aCursorTellsWhereContainmentChangesNext() {
        PageRanges r = PageRanges.builder().add(0x3000, 0x5000).add(0x8000, 0x9000).build();
        PageRanges.Cursor c = r.cursor();
        assertEquals(0x3000, c.nextChange(0x1000));          // outside, before the first range
        assertEquals(0x5000, c.nextChange(0x3000));          // inside: its end
        assertEquals(0x5000, c.nextChange(0x4000));
        assertEquals(0x8000, c.nextChange(0x5000));          // the gap: the next start
        assertEquals(0x9000, c.nextChange(0x8000));
        assertEquals(Long.MAX_VALUE, c.nextChange(0x9000));  // past the last range
        assertEquals(0x3000, c.nextChange(0x2000));          // lower again: starts over
    }
}
