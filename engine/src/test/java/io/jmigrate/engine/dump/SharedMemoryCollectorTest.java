package io.jmigrate.engine.dump;

import io.jmigrate.engine.proc.Maps;
import io.jmigrate.engine.proc.MapsEntry;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which maps lines are shmem objects jmigrate recreates, on lines recorded on kernel 6.18. */
class SharedMemoryCollectorTest {
    private static MapsEntry line(String text) {
        return Maps.parse(text + "\n").getFirst();
    }

    @Test
    void sharedAnonymousMemoryAndMemfdsAreShmem() {
        assertTrue(SharedMemoryCollector.isShmem(line("7f41403a0000-7f41403a4000 rw-s 00000000 00:01 1028                       /dev/zero (deleted)")));
        assertTrue(SharedMemoryCollector.isShmem(line("7f41403a4000-7f41403a6000 rw-p 00000000 00:01 1027                       /memfd:jm-shm (deleted)")));
        assertTrue(SharedMemoryCollector.isShmem(line("7f41405a4000-7f41405a6000 rw-s 00000000 00:01 1031                       [anon_shmem:cache]")));
    }

    @Test
    void filesSysvSegmentsAndPrivateMemoryAreNot() {
        assertFalse(SharedMemoryCollector.isShmem(line("7f414059b000-7f414059c000 rw-s 00000000 fe:00 2146778                    /tmp/sh.dat")));
        assertFalse(SharedMemoryCollector.isShmem(line("7f414059b000-7f414059c000 rw-s 00000000 fe:00 2146778                    /tmp/gone (deleted)")));
        assertFalse(SharedMemoryCollector.isShmem(line("7f9730928000-7f973092a000 rw-s 00000000 00:01 0                          /SYSV00000000 (deleted)")));
        assertFalse(SharedMemoryCollector.isShmem(line("7f41403b6000-7f41403b9000 rw-p 00000000 00:00 0 ")));
    }

    @Test
    void sysvRefusalNamesKeyAndShmid() {
        MapsEntry m = line("7f9730928000-7f973092a000 rw-s 00000000 00:01 32769                      /SYSV0000162e (deleted)");
        String message = SharedMemoryCollector.refuseSysv("mapping X of PID 7", m).getMessage();
        assertTrue(message.startsWith("mapping X of PID 7 is the SysV shared memory segment key 0x0000162e shmid 32769; "), message);
        assertEquals(m.inode(), 32769);
    }
}
