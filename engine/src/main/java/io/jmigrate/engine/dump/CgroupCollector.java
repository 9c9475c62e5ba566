package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.proto.CgroupMembership;
import io.jmigrate.engine.proc.Cgroups;
import io.jmigrate.engine.proc.ProcFs;

import java.util.List;

/** Which cgroup of each hierarchy the process is in (/proc/PID/cgroup), for the restore to put it back there. */
final class CgroupCollector {
    private CgroupCollector() {}

    static List<CgroupMembership> collect(ProcFs procfs, int pid) {
        return Cgroups.parse(procfs.readText(pid, "cgroup")).stream()
                .map(m -> CgroupMembership.newBuilder().setHierarchy(m.hierarchy()).setControllers(m.controllers())
                        .setPath(m.path()).build())
                .toList();
    }
}
