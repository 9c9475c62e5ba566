package io.jmigrate.engine.dump;

import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.proc.ProcessGoneException;

import java.util.ArrayList;
import java.util.List;

/** The process tree rooted at a PID, parents before their children (the order freezing and restoring need). */
final class ProcessTreeWalker {
    private static final int MAX_PROCESSES = 4096;

    private ProcessTreeWalker() {}

    static List<Integer> walk(ProcFs procfs, int root) {
        List<Integer> order = new ArrayList<>();
        order.add(root);
        for (int i = 0; i < order.size(); i++) {
            int pid = order.get(i);
            try {
                for (int child : procfs.children(pid)) {
                    if (!order.contains(child)) order.add(child);
                }
            } catch (ProcessGoneException e) {
                // exited while we looked; the freeze finds out for certain
            }
            if (order.size() > MAX_PROCESSES) {
                throw new DumpRefusedException("the tree of PID " + root + " has more than " + MAX_PROCESSES + " processes");
            }
        }
        return order;
    }
}
