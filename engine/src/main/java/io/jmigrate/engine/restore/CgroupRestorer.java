package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.CgroupMembership;
import io.jmigrate.engine.proc.Cgroups;
import io.jmigrate.engine.proc.ProcFs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Puts the restored process back into the cgroups it was in, one hierarchy at a time (cgroup v2 and any mounted
 * v1 hierarchy), by writing its PID into that cgroup's cgroup.procs, before its memory is mapped (so it is charged
 * there) and before its threads exist (they inherit it). A cgroup that no longer exists, or cannot be joined, is
 * a warning, not a failure: the process runs on in the restoring jmigrate's cgroup of that hierarchy.
 */
final class CgroupRestorer {
    private CgroupRestorer() {}

    static void join(ProcFs procfs, int pid, List<CgroupMembership> dumped, List<String> warnings) {
        if (dumped.isEmpty()) return;
        List<Cgroups.Membership> now = Cgroups.parse(procfs.readText(pid, "cgroup"));
        List<Cgroups.Mount> mounts = Cgroups.mounts(readMountinfo());
        for (CgroupMembership c : dumped) {
            Cgroups.Membership wanted = new Cgroups.Membership(c.getHierarchy(), c.getControllers(), c.getPath());
            Optional<Cgroups.Membership> current = now.stream()
                    .filter(m -> m.hierarchy() == wanted.hierarchy() && m.controllers().equals(wanted.controllers())).findFirst();
            if (current.isPresent() && current.get().path().equals(wanted.path())) continue;
            String name = (wanted.v2() ? "cgroup v2 " : "cgroup " + wanted.controllers() + " ") + wanted.path();
            String stays = current.map(m -> "; PID " + pid + " stays in " + m.path()).orElse("");
            Optional<String> dir = Cgroups.directory(wanted, mounts);
            if (dir.isEmpty()) {
                warnings.add(name + " of PID " + pid + " is not mounted here" + stays);
                continue;
            }
            Path procs = Path.of(dir.get(), "cgroup.procs");
            if (!Files.isDirectory(Path.of(dir.get()))) {
                warnings.add(name + " of PID " + pid + " does not exist (" + dir.get() + ")" + stays);
                continue;
            }
            try {
                Files.writeString(procs, Integer.toString(pid));
            } catch (IOException e) {
                warnings.add(name + " of PID " + pid + " cannot be joined (" + procs + ": " + e.getMessage() + ")" + stays);
            }
        }
    }

    private static String readMountinfo() {
        try {
            return Files.readString(Path.of("/proc/self/mountinfo"));
        } catch (IOException e) {
            return "";
        }
    }
}
