package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Sessions and process groups. The root always gets a session of its own (its old one belongs to whoever
 * started it, on this host or another); sessions and groups led by processes inside the tree come back as they
 * were, and what pointed outside the tree now points at the root's.
 */
final class SessionRestorer {
    private static final int SETPGID = 109;

    record Grouped(ProcessEntry entry, Puppet puppet) {}

    private SessionRestorer() {}

    static void becomeSessionLeader(Puppet puppet) {
        puppet.call("setsid", SyscallNumbers.SETSID);
    }

    static void restoreGroups(List<Grouped> tree, int root) {
        Set<Integer> pids = tree.stream().map(g -> g.entry().getPid()).collect(Collectors.toSet());
        // group leaders first, so the members have a group to join
        for (Grouped g : tree) {
            ProcessEntry e = g.entry();
            if (e.getPgid() == e.getPid() && e.getSid() != e.getPid() && e.getPid() != root) {
                g.puppet().call("setpgid(0, 0)", SETPGID, 0, 0);
            }
        }
        for (Grouped g : tree) {
            ProcessEntry e = g.entry();
            if (e.getPgid() == e.getPid()) continue;
            int wanted = pids.contains(e.getPgid()) ? e.getPgid() : root;
            if (currentGroup(e.getPid()) != wanted) {
                g.puppet().call("setpgid(0, " + wanted + ")", SETPGID, 0, wanted);
            }
        }
    }

    private static int currentGroup(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(fields[2]);          // state ppid pgrp ...
        } catch (IOException e) {
            throw new RestoreException("cannot read the process group of PID " + pid + ": " + e.getMessage());
        }
    }
}
