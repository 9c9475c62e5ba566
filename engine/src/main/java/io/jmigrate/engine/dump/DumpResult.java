package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.proto.DumpStats;

import java.nio.file.Path;

/** A finished dump: where the images are and what it took. */
public record DumpResult(int pid, Path imagesDir, DumpStats stats) {
    public double frozenMillis() { return stats.getFrozenNanos() / 1e6; }
}
