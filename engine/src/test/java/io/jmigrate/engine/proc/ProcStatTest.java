package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class ProcStatTest {
    @Test
    void commWithSpaceAndClosingParenthesis() {
        ProcStat stat = ProcStat.parse(Samples.text("weird-sleep/3838/stat"));
        assertEquals(3838, stat.pid());
        assertEquals("we ird) name", stat.comm());
        assertEquals('S', stat.state());
        assertEquals(1, stat.ppid());
        assertEquals(3834, stat.pgrp());
        assertEquals(2112, stat.session());
        assertEquals(0, stat.ttyNr());
        assertEquals(4194304, stat.flags());
        assertEquals(1, stat.numThreads());
        assertEquals(442586, stat.startTime());
        assertEquals(2990080, stat.vsize());
        assertEquals(421, stat.rss());
        assertEquals(94624051601408L, stat.startCode());
        assertEquals(94624051619337L, stat.endCode());
        assertEquals(140727705579056L, stat.startStack());
        assertEquals(94624051633424L, stat.startData());
        assertEquals(94624051634688L, stat.endData());
        assertEquals(94624254943232L, stat.startBrk());
        assertEquals(140727705586378L, stat.argStart());
        assertEquals(140727705586401L, stat.argEnd());
        assertEquals(140727705586401L, stat.envStart());
        assertEquals(140727705587686L, stat.envEnd());
        assertEquals(0, stat.exitCode());
        assertFalse(stat.isKernelThread());
        assertEquals("18446744073709551615", stat.field(25));   // rsslim, unlimited
        assertEquals("17", stat.field(38));                     // exit signal SIGCHLD
        assertNull(stat.field(53));
    }

    @Test
    void commWithParenthesesOnBothSides() {
        ProcStat stat = ProcStat.parse(Samples.text("kitchen/3695/stat"));
        assertEquals("kit (chen) x", stat.comm());
        assertEquals(3, stat.numThreads());
        assertEquals("16896", stat.field(32));                  // blocked: SIGUSR1 | SIGTERM, in decimal here
    }

    /** The addresses in stat must agree with the maps of the same process. */
    @Test
    void addressesPointIntoTheRightMappings() {
        ProcStat stat = ProcStat.parse(Samples.text("kitchen/3695/stat"));
        List<MapsEntry> maps = Maps.parse(Samples.text("kitchen/3695/maps"));
        MapsEntry heap = maps.stream().filter(MapsEntry::isHeap).findFirst().orElseThrow();
        MapsEntry stack = maps.stream().filter(MapsEntry::isStack).findFirst().orElseThrow();
        MapsEntry text = maps.stream().filter(e -> e.executable() && e.name().equals("/tmp/procrec/kitchen")).findFirst().orElseThrow();
        assertEquals(heap.start(), stat.startBrk());
        assertEquals(text.start(), stat.startCode());
        assertTrue(text.contains(stat.endCode() - 1));
        for (long address : new long[] {stat.startStack(), stat.argStart(), stat.argEnd(), stat.envStart(), stat.envEnd() - 1}) {
            assertTrue(stack.contains(address), Long.toHexString(address));
        }
    }

    @Test
    void kernelThreadAndRunningProcess() {
        ProcStat kthreadd = ProcStat.parse(Samples.text("misc/kthreadd-stat"));
        assertEquals(2, kthreadd.pid());
        assertEquals("kthreadd", kthreadd.comm());
        assertTrue(kthreadd.isKernelThread());
        assertEquals(0, kthreadd.vsize());
        assertEquals(0, kthreadd.startCode());

        ProcStat cat = ProcStat.parse(Samples.text("misc/cat-self-stat"));
        assertEquals("cat", cat.comm());
        assertEquals('R', cat.state());
        assertFalse(cat.isKernelThread());
    }

    @Test
    void pythonProcess() {
        ProcStat python = ProcStat.parse(Samples.text("python3/3872/stat"));
        assertEquals("python3", python.comm());
        assertEquals(5, python.numThreads());
        assertEquals(319033344L, python.vsize());
    }

    @Test
    void commThatLooksLikeFields() {
        ProcStat stat = ProcStat.parse("12 () S 1 2 3) R 9 9 9 9 -1 4194304 0 0 0 0 0 0 0 0 -2 0 1 0 55 0 0\n");
        assertEquals(") S 1 2 3", stat.comm());
        assertEquals('R', stat.state());
        assertEquals(9, stat.ppid());
        assertEquals(55, stat.startTime());
        assertEquals("-2", stat.field(18));
        assertEquals(0, stat.envEnd());     // a pre-3.5 kernel stops before field 45
    }

    @Test
    void rejectsTextWithoutComm() {
        assertThrows(ProcFormatException.class, () -> ProcStat.parse("12 S 1 2 3"));
        assertThrows(ProcFormatException.class, () -> ProcStat.parse("12 (x) S one 2 3"));
        assertThrows(ProcFormatException.class, () -> ProcStat.parse("12 (x) SR 1 2 3"));
    }
}
