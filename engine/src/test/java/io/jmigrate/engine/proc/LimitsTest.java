package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class LimitsTest {
    private static final List<Limit> KITCHEN = Limits.parse(Samples.text("kitchen/3695/limits"));

    @Test
    void everyRowMapsToItsResourceInKernelOrder() {
        assertEquals(16, KITCHEN.size());
        for (int i = 0; i < 16; i++) assertEquals(i, KITCHEN.get(i).resource(), KITCHEN.get(i).name());
        assertEquals("Max cpu time", KITCHEN.getFirst().name());
        assertEquals("Max realtime timeout", KITCHEN.getLast().name());
    }

    @Test
    void valuesSetByTheKitchen() {
        assertEquals(new Limit(Limits.RLIMIT_NOFILE, "Max open files", 1000, 4096),
                Limits.find(KITCHEN, Limits.RLIMIT_NOFILE).orElseThrow());
        Limit core = Limits.find(KITCHEN, Limits.RLIMIT_CORE).orElseThrow();
        assertEquals(4096, core.soft());
        assertEquals(Limits.RLIM_INFINITY, core.hard());
        assertTrue(core.hardUnlimited());
        assertFalse(core.softUnlimited());
        Limit stack = Limits.find(KITCHEN, Limits.RLIMIT_STACK).orElseThrow();
        assertEquals(8388608, stack.soft());
        assertTrue(stack.hardUnlimited());
        assertTrue(Limits.find(KITCHEN, Limits.RLIMIT_CPU).orElseThrow().softUnlimited());
        assertEquals(819200, Limits.find(KITCHEN, Limits.RLIMIT_MSGQUEUE).orElseThrow().hard());
    }

    @Test
    void rowsWithoutUnits() {
        Limit nice = Limits.find(KITCHEN, Limits.RLIMIT_NICE).orElseThrow();
        assertEquals(new Limit(13, "Max nice priority", 0, 0), nice);
        assertEquals(new Limit(14, "Max realtime priority", 0, 0), Limits.find(KITCHEN, Limits.RLIMIT_RTPRIO).orElseThrow());
    }

    @Test
    void doesNotDependOnColumnWidths() {
        List<Limit> squeezed = Limits.parse("""
                Limit Soft Limit Hard Limit Units
                Max open files 1000 4096 files
                Max nice priority\t0\t0
                Max shiny widgets 5 unlimited widgets
                """);
        assertEquals(List.of(new Limit(Limits.RLIMIT_NOFILE, "Max open files", 1000, 4096),
                new Limit(Limits.RLIMIT_NICE, "Max nice priority", 0, 0),
                new Limit(-1, "Max shiny widgets", 5, Limits.RLIM_INFINITY)), squeezed);
    }

    @Test
    void rejectsRowsWithoutTwoValues() {
        assertThrows(ProcFormatException.class, () -> Limits.parse("Max open files lots\n"));
        assertThrows(ProcFormatException.class, () -> Limits.parse("Max open files 1000\n"));
        assertThrows(ProcFormatException.class, () -> Limits.parse("1000 4096 files\n"));
    }
}
