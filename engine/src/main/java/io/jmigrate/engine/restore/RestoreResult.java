package io.jmigrate.engine.restore;

import java.util.List;

/** The restored process, running detached, and what the restore took. */
public record RestoreResult(int pid, long totalNanos, long memoryNanos, long pagesRestored, List<String> warnings) {
    public double totalMillis() { return totalNanos / 1e6; }
}
