package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MapsTest {
    private static final List<MapsEntry> KITCHEN = Maps.parse(Samples.text("kitchen/3695/maps"));

    private static MapsEntry at(List<MapsEntry> maps, long start) {
        return maps.stream().filter(e -> e.start() == start).findFirst()
                .orElseThrow(() -> new AssertionError("no mapping at 0x" + Long.toHexString(start)));
    }

    private static MapsEntry named(List<MapsEntry> maps, String name) {
        return maps.stream().filter(e -> e.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no mapping named " + name));
    }

    @Test
    void parsesEveryFieldOfAFileMapping() {
        assertEquals(36, KITCHEN.size());
        MapsEntry first = KITCHEN.getFirst();
        assertEquals(new MapsEntry(0x5621db9ad000L, 0x5621db9ae000L, "r--p", 0, 0xfe, 0x00, 2146499, "/tmp/procrec/kitchen"),
                first);
        assertTrue(first.isFileBacked());
        assertFalse(first.isSpecial());
        assertFalse(first.isAnonymous());
        assertEquals(MapsEntry.PROT_READ, first.prot());
        assertEquals(4096, first.length());

        MapsEntry libcText = at(KITCHEN, 0x7f2722fcf000L);
        assertEquals("/usr/lib/x86_64-linux-gnu/libc.so.6", libcText.name());
        assertEquals(0x26000, libcText.offset());
        assertEquals(MapsEntry.PROT_READ | MapsEntry.PROT_EXEC, libcText.prot());
        assertFalse(libcText.shared());
    }

    @Test
    void keepsSpacesAndParenthesesInPaths() {
        MapsEntry file = at(KITCHEN, 0x7f2723192000L);
        assertEquals("/tmp/procrec/mapped file (x).bin", file.name());
        assertEquals("rw-s", file.perms());
        assertTrue(file.shared());
        assertEquals(MapsEntry.PROT_READ | MapsEntry.PROT_WRITE, file.prot());
        assertEquals(2 * 4096, file.length());
        assertFalse(file.deleted());
        assertEquals(file.name(), file.path());

        List<MapsEntry> weird = Maps.parse(Samples.text("weird-sleep/3838/maps"));
        assertEquals(37, weird.size());
        assertEquals(5, weird.stream().filter(e -> e.name().equals("/tmp/we ird) name")).count());
    }

    @Test
    void recognisesDeletedFilesAndSharedAnonymousMemory() {
        MapsEntry gone = at(KITCHEN, 0x7f2723191000L);
        assertTrue(gone.deleted());
        assertEquals("/tmp/procrec/gone soon", gone.path());
        assertTrue(gone.isFileBacked());
        assertFalse(gone.isSharedAnonymous());

        MapsEntry shanon = at(KITCHEN, 0x7f272318e000L);
        assertEquals("/dev/zero (deleted)", shanon.name());
        assertEquals(0, shanon.devMajor());
        assertEquals(1, shanon.devMinor());
        assertEquals(1025, shanon.inode());
        assertTrue(shanon.isSharedAnonymous());
        assertEquals("/dev/zero", shanon.path());
    }

    @Test
    void recognisesKernelNamedAreas() {
        assertTrue(named(KITCHEN, "[heap]").isHeap());
        assertTrue(named(KITCHEN, "[stack]").isStack());
        MapsEntry vdso = named(KITCHEN, "[vdso]");
        assertTrue(vdso.isVdso());
        assertTrue(vdso.executable());
        assertTrue(named(KITCHEN, "[vvar]").isVvar());
        assertTrue(named(KITCHEN, "[vvar_vclock]").isVvar());
        for (String special : List.of("[heap]", "[stack]", "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]")) {
            MapsEntry entry = named(KITCHEN, special);
            assertTrue(entry.isSpecial(), special);
            assertFalse(entry.isFileBacked(), special);
            assertFalse(entry.isAnonymous(), special);
        }
        MapsEntry vsyscall = KITCHEN.getLast();
        assertTrue(vsyscall.isVsyscall());
        assertEquals(0xffffffffff600000L, vsyscall.start());
        assertEquals(4096, vsyscall.length());
        assertEquals(MapsEntry.PROT_EXEC, vsyscall.prot());
        assertNull(vsyscall.anonName());
    }

    @Test
    void anonymousMappingsHaveNoName() {
        MapsEntry uffdArea = at(KITCHEN, 0x7f2722e90000L);
        assertEquals("", uffdArea.name());
        assertEquals(0, uffdArea.inode());
        assertTrue(uffdArea.isAnonymous());
        assertFalse(uffdArea.isFileBacked());
        assertFalse(uffdArea.isSpecial());
        assertEquals(7, uffdArea.pages());
        assertTrue(uffdArea.contains(0x7f2722e96fffL));
        assertFalse(uffdArea.contains(0x7f2722e97000L));
    }

    /** This machine's kernel lacks CONFIG_ANON_VMA_NAME, so the line is written as a 6.x kernel with it prints it. */
    @Test
    void namedAnonymousMemory() {
        MapsEntry named = Maps.parseLine(
                "7f2722e97000-7f2722e9d000 rw-p 00000000 00:00 0                          [anon:jmigrate test]");
        assertTrue(named.isSpecial());
        assertFalse(named.isFileBacked());
        assertEquals("jmigrate test", named.anonName());
    }

    @ParameterizedTest
    @ValueSource(strings = {"kitchen/3695/maps", "weird-sleep/3838/maps", "python3/3872/maps"})
    void formatsEachLineBackExactly(String sample) {
        for (String line : Samples.text(sample).lines().toList()) {
            assertEquals(line, Maps.parseLine(line).toMapsLine());
        }
    }

    @Test
    void entriesAreAscendingAndDisjoint() {
        List<MapsEntry> python = Maps.parse(Samples.text("python3/3872/maps"));
        assertEquals(122, python.size());
        for (int i = 1; i < python.size(); i++) {
            assertTrue(Long.compareUnsigned(python.get(i - 1).end(), python.get(i).start()) <= 0, python.get(i).toString());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "not a maps line",
            "5621db9ad000-5621db9ae000 r--p",
            "5621db9ad000-5621db9ae000 r--p 00000000 fe:00 zz /x",
            "5621db9ae000-5621db9ad000 r--p 00000000 fe:00 1 /end-before-start",
            "5621db9ad000-5621db9ae000 r-p 00000000 fe:00 1 /short-perms"})
    void rejectsMalformedLines(String line) {
        assertThrows(ProcFormatException.class, () -> Maps.parseLine(line));
    }
}
