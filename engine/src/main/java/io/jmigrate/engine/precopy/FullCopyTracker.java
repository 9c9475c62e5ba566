package io.jmigrate.engine.precopy;

import io.jmigrate.engine.check.DirtyTracking;
import io.jmigrate.engine.proc.SmapsEntry;

import java.util.List;

/** No tracking: every page is dirty every round. The last resort; pre-copy then never converges on its own. */
public final class FullCopyTracker implements DirtyTracker {
    @Override public DirtyTracking kind() { return DirtyTracking.FULL_COPY; }

    @Override
    public PageRanges harvest(int pid, List<SmapsEntry> vmas) {
        PageRanges.Builder all = PageRanges.builder();
        for (SmapsEntry v : vmas) all.add(v.mapping().start(), v.mapping().end());
        return all.build();
    }

    @Override
    public PageRanges peek(int pid, List<SmapsEntry> vmas) { return harvest(pid, vmas); }

    @Override public void close() { }
}
