package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class PagemapEntryTest {
    /** A line of pagemap-words.txt: which kitchen mapping, the page address, the word. */
    record Word(String label, long address, long word) {}

    private static final List<Word> WORDS = load();

    private static List<Word> load() {
        List<Word> words = new ArrayList<>();
        for (String line : Samples.text("kitchen/pagemap-words.txt").lines().toList()) {
            if (line.startsWith("#")) continue;
            String[] f = line.split(" ");
            words.add(new Word(f[0], Long.parseUnsignedLong(f[1], 16), Long.parseUnsignedLong(f[2], 16)));
        }
        return words;
    }

    private static long word(long address) {
        return WORDS.stream().filter(w -> w.address() == address).findFirst().orElseThrow().word();
    }

    @Test
    void sharedFilePageMappedOnlyHere() {
        long w = word(0x7f2723192000L);
        assertEquals(0xa10000000012d20dL, w);
        assertTrue(PagemapEntry.present(w));
        assertFalse(PagemapEntry.swapped(w));
        assertTrue(PagemapEntry.fileOrSharedAnon(w));
        assertTrue(PagemapEntry.exclusive(w));
        assertFalse(PagemapEntry.softDirty(w));
        assertFalse(PagemapEntry.uffdWriteProtected(w));
        assertEquals(0x12d20dL, PagemapEntry.pfn(w));
        assertEquals("present file excl pfn=0x12d20d", PagemapEntry.describe(w));
        assertFalse(PagemapEntry.present(word(0x7f2723193000L)));   // its second page was never touched
    }

    @Test
    void sharedAnonymousPageIsShmem() {
        long w = word(0x7f272318e000L);
        assertTrue(PagemapEntry.present(w));
        assertTrue(PagemapEntry.fileOrSharedAnon(w));
    }

    /** The kitchen forked after touching these, so its children map the same pages copy-on-write. */
    @Test
    void privatePagesSharedWithForkChildrenAreNotExclusive() {
        for (long address : new long[] {0x7f272318c000L, 0x7f272318d000L, 0x7f2722fa2000L, 0x7f2722fa1000L}) {
            long w = word(address);
            assertTrue(PagemapEntry.present(w), Long.toHexString(address));
            assertFalse(PagemapEntry.fileOrSharedAnon(w), Long.toHexString(address));
            assertFalse(PagemapEntry.exclusive(w), Long.toHexString(address));
            assertNotEquals(0, PagemapEntry.pfn(w), "recorded as root, so PFNs are real");
        }
    }

    @Test
    void untouchedUserfaultfdAreaIsEmpty() {
        List<Word> uffd = WORDS.stream().filter(w -> w.label().equals("uffd")).toList();
        assertEquals(7, uffd.size());
        for (Word w : uffd) {
            assertFalse(PagemapEntry.populated(w.word()));
            assertEquals("none", PagemapEntry.describe(w.word()));
        }
    }

    /** Present pages times 4 kB must be each mapping's Rss in the smaps recorded at the same time. */
    @Test
    void presentPagesAddUpToSmapsRss() {
        Map<Long, Long> rssByStart = new TreeMap<>();
        for (SmapsEntry e : Smaps.parse(Samples.text("kitchen/3695/smaps"))) rssByStart.put(e.mapping().start(), e.rssKb());
        Map<String, Long> firstPage = new TreeMap<>();
        Map<String, Integer> presentPages = new TreeMap<>();
        for (Word w : WORDS) {
            firstPage.merge(w.label(), w.address(), Math::min);
            presentPages.merge(w.label(), PagemapEntry.present(w.word()) ? 1 : 0, Integer::sum);
        }
        assertEquals(8, firstPage.size());
        for (String label : firstPage.keySet()) {
            assertEquals(rssByStart.get(firstPage.get(label)), presentPages.get(label) * 4L, label);
        }
    }

    @Test
    void bitsThisKernelDidNotShow() {
        long swapped = PagemapEntry.SWAPPED | PagemapEntry.SOFT_DIRTY | (0x1234L << 5) | 3;
        assertFalse(PagemapEntry.present(swapped));
        assertTrue(PagemapEntry.swapped(swapped));
        assertTrue(PagemapEntry.populated(swapped));
        assertTrue(PagemapEntry.softDirty(swapped));
        assertEquals(3, PagemapEntry.swapType(swapped));
        assertEquals(0x1234L, PagemapEntry.swapOffset(swapped));
        assertEquals("swapped soft-dirty swap=3:0x1234", PagemapEntry.describe(swapped));

        long wp = PagemapEntry.PRESENT | (1L << 57) | (1L << 58);
        assertTrue(PagemapEntry.uffdWriteProtected(wp));
        assertTrue(PagemapEntry.guardRegion(wp));
        assertEquals(0, PagemapEntry.pfn(wp));
        assertEquals(0x7fffffffffffffL, PagemapEntry.pfn(-1L));
    }
}
