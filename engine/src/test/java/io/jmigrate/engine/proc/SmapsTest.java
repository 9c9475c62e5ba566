package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SmapsTest {
    private static final List<SmapsEntry> KITCHEN = Smaps.parse(Samples.text("kitchen/3695/smaps"));

    private static SmapsEntry at(long start) {
        return KITCHEN.stream().filter(e -> e.mapping().start() == start).findFirst()
                .orElseThrow(() -> new AssertionError("no area at 0x" + Long.toHexString(start)));
    }

    @Test
    void headersAreTheMapsLines() {
        assertEquals(Maps.parse(Samples.text("kitchen/3695/maps")), KITCHEN.stream().map(SmapsEntry::mapping).toList());
    }

    @Test
    void sizeMatchesTheAddressRangeOfEveryArea() {
        for (SmapsEntry entry : KITCHEN) {
            assertEquals(entry.mapping().length(), entry.sizeKb() * 1024, entry.mapping().toMapsLine());
            assertEquals(4, entry.kb("KernelPageSize"), entry.mapping().toMapsLine());
        }
    }

    @Test
    void readsCountersInKb() {
        SmapsEntry stack = KITCHEN.stream().filter(e -> e.mapping().isStack()).findFirst().orElseThrow();
        assertEquals(132, stack.sizeKb());
        assertEquals(12, stack.rssKb());
        assertEquals(9, stack.pssKb());
        assertEquals(12, stack.anonymousKb());
        assertEquals(0, stack.swapKb());
        assertEquals(0, stack.anonHugePagesKb());
        assertTrue(stack.growsDown());

        SmapsEntry locked = at(0x7f272318c000L);
        assertTrue(locked.locked());
        assertEquals(8, locked.rssKb());
        assertEquals(2, locked.kb("Locked"));
        assertEquals(0, locked.kb("NoSuchCounter"));
    }

    @Test
    void keepsUnitlessFieldsApart() {
        SmapsEntry any = KITCHEN.getFirst();
        assertEquals("0", any.otherFields().get("THPeligible"));
        assertEquals("0", any.otherFields().get("ProtectionKey"));
        assertFalse(any.kb().containsKey("THPeligible"));
        assertFalse(any.kb().containsKey("VmFlags"));
    }

    @Test
    void readsVmFlags() {
        SmapsEntry uffd = at(0x7f2722e90000L);
        assertEquals(Set.of("rd", "wr", "mr", "mw", "me", "um", "uw", "ac"), uffd.vmFlags());
        assertTrue(uffd.uffdMissing());
        assertTrue(uffd.uffdWp());
        assertFalse(uffd.locked());

        SmapsEntry noDump = at(0x7f2722fa2000L);
        assertTrue(noDump.dontDump());
        assertTrue(noDump.hasFlag("ex"));
        assertFalse(noDump.uffdMissing());

        assertTrue(at(0x7f2722f9d000L).growsDown());
        assertTrue(at(0x7f272318e000L).shared());
        assertTrue(at(0x7f2723192000L).shared());
        assertFalse(at(0x7f2723191000L).shared());

        SmapsEntry vvar = KITCHEN.stream().filter(e -> e.mapping().name().equals("[vvar]")).findFirst().orElseThrow();
        assertTrue(vvar.ioMapped());
        assertTrue(vvar.dontDump());

        // Recorded on a kernel without CONFIG_MEM_SOFT_DIRTY: no area carries "sd".
        assertTrue(KITCHEN.stream().noneMatch(SmapsEntry::softDirty));
        assertEquals(1, KITCHEN.stream().filter(SmapsEntry::uffdMissing).count());
        assertEquals(1, KITCHEN.stream().filter(SmapsEntry::locked).count());
    }

    @Test
    void weirdPathsInHeaders() {
        List<SmapsEntry> weird = Smaps.parse(Samples.text("weird-sleep/3838/smaps"));
        assertEquals(37, weird.size());
        assertEquals("/tmp/we ird) name", weird.getFirst().mapping().name());
    }

    @Test
    void rejectsFieldsBeforeTheFirstHeader() {
        assertThrows(ProcFormatException.class, () -> Smaps.parse("Rss:  4 kB\n"));
        assertThrows(ProcFormatException.class,
                () -> Smaps.parse("7f2722e90000-7f2722e97000 rw-p 00000000 00:00 0 \nRss: four kB\n"));
    }
}
