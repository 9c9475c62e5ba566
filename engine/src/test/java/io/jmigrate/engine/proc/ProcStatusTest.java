package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ProcStatusTest {
    private static final ProcStatus KITCHEN = ProcStatus.parse(Samples.text("kitchen/3695/status"));

    @Test
    void identity() {
        assertEquals("kit (chen) x", KITCHEN.name());
        assertEquals(027, KITCHEN.umask());
        assertEquals('S', KITCHEN.state());
        assertEquals(3695, KITCHEN.tgid());
        assertEquals(3695, KITCHEN.pid());
        assertEquals(1, KITCHEN.ppid());
        assertEquals(0, KITCHEN.tracerPid());
        assertEquals(new ProcStatus.Ids(0, 0, 0, 0), KITCHEN.uids());
        assertArrayEquals(new int[] {0, 0, 0, 0}, KITCHEN.gids().toArray());
        assertEquals(List.of(), KITCHEN.groups());
        assertEquals(0, KITCHEN.ngid());
        assertEquals(3, KITCHEN.threads());
        assertEquals(List.of(3695), KITCHEN.nsPids());
        assertFalse(KITCHEN.isKernelThread());
    }

    @Test
    void signalMasks() {
        assertEquals(0, KITCHEN.sigPnd());
        assertEquals(0x4000, KITCHEN.shdPnd());
        assertTrue(ProcStatus.hasSignal(KITCHEN.shdPnd(), 15));          // SIGTERM raised while blocked
        assertEquals(0x4200, KITCHEN.sigBlk());                          // SIGUSR1 and SIGTERM
        assertTrue(ProcStatus.hasSignal(KITCHEN.sigBlk(), 10));
        assertEquals(0x7, KITCHEN.sigIgn());                             // SIGHUP, and SIGINT/SIGQUIT from the shell's &
        assertEquals(0x100000800L, KITCHEN.sigCgt());                    // SIGUSR2 and glibc's signal 33
        assertTrue(ProcStatus.hasSignal(KITCHEN.sigCgt(), 12));
        assertFalse(ProcStatus.hasSignal(KITCHEN.sigCgt(), 10));
    }

    @Test
    void credentialsAndSandboxing() {
        assertEquals(0, KITCHEN.capInh());
        assertEquals(0x000001fffeffffffL, KITCHEN.capPrm());
        assertEquals(0x000001fffeffffffL, KITCHEN.capEff());
        assertEquals(0x000001fffeffffffL, KITCHEN.capBnd());
        assertEquals(0, KITCHEN.capAmb());
        assertTrue(ProcStatus.hasCapability(KITCHEN.capEff(), 21));      // CAP_SYS_ADMIN
        assertFalse(ProcStatus.hasCapability(KITCHEN.capEff(), 24));     // CAP_SYS_RESOURCE is dropped in this sandbox
        assertTrue(KITCHEN.noNewPrivs());
        assertEquals(2, KITCHEN.seccomp());
    }

    @Test
    void rawLinesAndKbValues() {
        assertEquals("1", KITCHEN.raw("Seccomp_filters"));
        assertEquals("0-1", KITCHEN.raw("Cpus_allowed_list"));
        assertEquals("3695", KITCHEN.raw().get("NStgid"));
        assertEquals(OptionalLong.of(8), KITCHEN.kb("VmLck"));
        assertEquals(OptionalLong.of(1596), KITCHEN.kb("VmRSS"));
        assertEquals(59, KITCHEN.raw().size());
    }

    @Test
    void otherProcesses() {
        ProcStatus python = ProcStatus.parse(Samples.text("python3/3872/status"));
        assertEquals("python3", python.name());
        assertEquals(5, python.threads());
        assertEquals(0x1001006L, python.sigIgn());
        assertEquals(022, python.umask());
        assertFalse(python.noNewPrivs());
        assertEquals(0, python.seccomp());

        assertEquals("we ird) name", ProcStatus.parse(Samples.text("weird-sleep/3838/status")).name());
        assertEquals('R', ProcStatus.parse(Samples.text("misc/cat-self-status")).state());

        ProcStatus kthreadd = ProcStatus.parse(Samples.text("misc/kthreadd-status"));
        assertTrue(kthreadd.isKernelThread());
        assertEquals(0, kthreadd.ppid());
        assertEquals(OptionalLong.empty(), kthreadd.kb("VmRSS"));
    }

    @Test
    void optionalLinesOfOlderKernelsGetNeutralValues() {
        String old = Samples.text("kitchen/3695/status").lines()
                .filter(line -> !line.startsWith("Umask:") && !line.startsWith("Seccomp:") && !line.startsWith("NSpid:")
                        && !line.startsWith("CapAmb:") && !line.startsWith("NoNewPrivs:"))
                .reduce("", (text, line) -> text + line + "\n");
        ProcStatus status = ProcStatus.parse(old);
        assertEquals(-1, status.umask());
        assertEquals(-1, status.seccomp());
        assertEquals(List.of(3695), status.nsPids());
        assertEquals(0, status.capAmb());
        assertFalse(status.noNewPrivs());
    }

    @Test
    void commWithSurroundingSpacesIsKept() {
        ProcStatus status = ProcStatus.parse("Name:\t sp ace \nState:\tS (sleeping)\nTgid:\t7\nPid:\t7\nPPid:\t1\n");
        assertEquals(" sp ace ", status.name());
        assertEquals(-1, status.umask());
    }

    @Test
    void missingRequiredLinesAndBadNumbersAreErrors() {
        assertThrows(ProcFormatException.class, () -> ProcStatus.parse("Name:\tx\nState:\tS (sleeping)\n"));
        assertThrows(ProcFormatException.class,
                () -> ProcStatus.parse("Name:\tx\nState:\tS\nTgid:\t7\nPid:\t7\nPPid:\t1\nSigBlk:\tnothex\n"));
        assertThrows(ProcFormatException.class,
                () -> ProcStatus.parse("Name:\tx\nState:\tS\nTgid:\t7\nPid:\t7\nPPid:\t1\nUid:\t0\t0\n"));
    }
}
