package io.jmigrate.engine.proc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/** /proc/PID/cgroup (which cgroup of each hierarchy a process is in) and where those hierarchies are mounted. */
public final class Cgroups {
    /**
     * One line of /proc/PID/cgroup, "hierarchy-id:controllers:path".
     *
     * @param controllers "cpu,cpuacct", "name=systemd"; empty for cgroup v2 (hierarchy 0)
     * @param path        relative to the root of the hierarchy (of the cgroup namespace)
     */
    public record Membership(int hierarchy, String controllers, String path) {
        public boolean v2() { return hierarchy == 0 && controllers.isEmpty(); }
    }

    /** A cgroup filesystem mount from /proc/PID/mountinfo: which cgroup (root) is visible at which directory. */
    public record Mount(String root, String mountPoint, boolean v2, Set<String> controllers) {}

    private Cgroups() {}

    public static List<Membership> parse(String text) {
        List<Membership> out = new ArrayList<>();
        for (String line : (Iterable<String>) text.lines()::iterator) {
            if (line.isBlank()) continue;
            String[] f = line.split(":", 3);
            if (f.length != 3) throw new ProcFormatException("cgroup", "not hierarchy:controllers:path", line);
            try {
                out.add(new Membership(Integer.parseInt(f[0]), f[1], f[2]));
            } catch (NumberFormatException e) {
                throw new ProcFormatException("cgroup", "bad hierarchy id", line, e);
            }
        }
        return out;
    }

    /** The cgroup and cgroup2 mounts of a mountinfo file, in order. */
    public static List<Mount> mounts(String mountinfo) {
        List<Mount> out = new ArrayList<>();
        for (String line : (Iterable<String>) mountinfo.lines()::iterator) {
            int dash = line.indexOf(" - ");
            if (dash < 0) continue;
            String[] before = line.substring(0, dash).split(" ");
            String[] after = line.substring(dash + 3).split(" ");
            if (before.length < 5 || after.length < 3) continue;
            boolean v2 = after[0].equals("cgroup2");
            if (!v2 && !after[0].equals("cgroup")) continue;
            Set<String> options = new TreeSet<>(Arrays.asList(after[2].split(",")));
            out.add(new Mount(unescape(before[3]), unescape(before[4]), v2, options));
        }
        return out;
    }

    /** Where {@code m}'s cgroup is reachable among {@code mounts}, if its hierarchy is mounted and covers it. */
    public static Optional<String> directory(Membership m, List<Mount> mounts) {
        for (Mount mount : mounts) {
            if (m.v2() != mount.v2()) continue;
            if (!m.v2() && !mount.controllers().containsAll(Arrays.asList(m.controllers().split(",")))) continue;
            String root = mount.root().equals("/") ? "" : mount.root();
            if (!m.path().equals(root) && !m.path().startsWith(root + "/")) continue;
            return Optional.of(mount.mountPoint() + m.path().substring(root.length()));
        }
        return Optional.empty();
    }

    /** mountinfo escapes space, tab, newline and backslash as \ooo. */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\\' && i + 3 < s.length()) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(s.charAt(i));
            }
        }
        return b.toString();
    }
}
