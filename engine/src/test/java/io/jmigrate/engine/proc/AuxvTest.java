package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class AuxvTest {
    private static final long[] KITCHEN = Auxv.parse(Samples.bytes("kitchen/3695/auxv"));

    @Test
    void recordedVector() {
        assertEquals(46, KITCHEN.length);                          // 22 entries and AT_NULL
        assertEquals(Auxv.AT_NULL, KITCHEN[44]);
        assertEquals(Auxv.AT_SYSINFO_EHDR, KITCHEN[0]);
        assertEquals(OptionalLong.of(4096), Auxv.get(KITCHEN, Auxv.AT_PAGESZ));
        assertEquals(OptionalLong.of(0x5621db9ad040L), Auxv.get(KITCHEN, Auxv.AT_PHDR));
        assertEquals(OptionalLong.of(0xd30), Auxv.get(KITCHEN, Auxv.AT_MINSIGSTKSZ));
        assertEquals(OptionalLong.empty(), Auxv.get(KITCHEN, 999));
    }

    @Test
    void pointersAgreeWithTheMaps() {
        List<MapsEntry> maps = Maps.parse(Samples.text("kitchen/3695/maps"));
        MapsEntry vdso = maps.stream().filter(MapsEntry::isVdso).findFirst().orElseThrow();
        assertEquals(vdso.start(), Auxv.get(KITCHEN, Auxv.AT_SYSINFO_EHDR).orElseThrow());
        long entry = Auxv.get(KITCHEN, Auxv.AT_ENTRY).orElseThrow();
        assertTrue(maps.stream().anyMatch(m -> m.contains(entry) && m.executable() && m.name().equals("/tmp/procrec/kitchen")));
        MapsEntry stack = maps.stream().filter(MapsEntry::isStack).findFirst().orElseThrow();
        assertTrue(stack.contains(Auxv.get(KITCHEN, Auxv.AT_RANDOM).orElseThrow()));
        assertTrue(stack.contains(Auxv.get(KITCHEN, Auxv.AT_EXECFN).orElseThrow()));
    }

    @Test
    void stopsAtAtNull() {
        ByteBuffer bytes = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(Auxv.AT_PAGESZ).putLong(4096).putLong(Auxv.AT_NULL).putLong(0).putLong(Auxv.AT_ENTRY).putLong(1);
        assertArrayEquals(new long[] {Auxv.AT_PAGESZ, 4096, Auxv.AT_NULL, 0}, Auxv.parse(bytes.array()));
    }

    @Test
    void edgeCases() {
        assertArrayEquals(new long[0], Auxv.parse(new byte[0]));
        assertThrows(ProcFormatException.class, () -> Auxv.parse(new byte[15]));
        byte[] cutOff = Arrays.copyOf(Samples.bytes("kitchen/3695/auxv"), 32);
        assertArrayEquals(Arrays.copyOf(KITCHEN, 4), Auxv.parse(cutOff));
    }
}
