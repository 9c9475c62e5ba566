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
