package io.jmigrate.engine.proc;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /proc/PID/cgroup and the cgroup mounts of mountinfo, as recorded on the hybrid (v1 + v2) development machine. */
class CgroupsTest {
    private static final String CGROUP = """
            9:name=systemd:/
            8:pids:/jm
            4:memory:/process_api/f279185b3fa3d958e1a85699456a56d3
            1:cpu,cpuacct:/
            0::/jmtest
            """;
    private static final String MOUNTINFO = """
            24 1 0:22 / / rw,relatime - ext4 /dev/vda rw
            30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct
            34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            38 30 0:34 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
            39 30 0:35 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
            40 30 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            41 24 0:36 /jmtest /mnt/my\\040cg rw,relatime - cgroup2 cgroup2 rw
            """;

    @Test
    void parsesEveryHierarchy() {
        List<Cgroups.Membership> m = Cgroups.parse(CGROUP);
        assertEquals(5, m.size());
        assertEquals(new Cgroups.Membership(8, "pids", "/jm"), m.get(1));
        assertEquals(new Cgroups.Membership(0, "", "/jmtest"), m.get(4));
        assertTrue(m.get(4).v2());
        assertThrows(ProcFormatException.class, () -> Cgroups.parse("garbage\n"));
    }

    @Test
    void findsTheDirectoryOfEachCgroup() {
        List<Cgroups.Mount> mounts = Cgroups.mounts(MOUNTINFO);
        assertEquals(6, mounts.size());
        List<Cgroups.Membership> m = Cgroups.parse(CGROUP);
        assertEquals(Optional.of("/sys/fs/cgroup/systemd/"), Cgroups.directory(m.get(0), mounts));
        assertEquals(Optional.of("/sys/fs/cgroup/pids/jm"), Cgroups.directory(m.get(1), mounts));
        assertEquals(Optional.of("/sys/fs/cgroup/cpu/"), Cgroups.directory(m.get(3), mounts));
        assertEquals(Optional.of("/sys/fs/cgroup/unified/jmtest"), Cgroups.directory(m.get(4), mounts));
        // a hierarchy that is not mounted
        assertEquals(Optional.empty(), Cgroups.directory(new Cgroups.Membership(5, "devices", "/"), mounts));
        // a mount of a sub-cgroup (its root is /jmtest) covers only what is below it; the escaped space is decoded
        List<Cgroups.Mount> subOnly = List.of(mounts.get(5));
        assertEquals(Optional.of("/mnt/my cg/x"), Cgroups.directory(new Cgroups.Membership(0, "", "/jmtest/x"), subOnly));
        assertEquals(Optional.empty(), Cgroups.directory(new Cgroups.Membership(0, "", "/other"), subOnly));
    }
}
