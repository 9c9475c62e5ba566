package io.jmigrate.engine.dump;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * What to dump and how.
 *
 * @param pid          the process to checkpoint
 * @param imagesDir    where the images go (created if missing; an old image set there is replaced)
 * @param leaveRunning resume the process after a successful dump instead of killing it
 * @param progress     receives one-line progress messages
 * @param prevImagesDir a pre-dump this dump builds on (only what changed since is written), or null
 */
public record DumpOptions(int pid, Path imagesDir, boolean leaveRunning, Consumer<String> progress, Path prevImagesDir) {
    public static DumpOptions of(int pid, Path imagesDir) {
        return new DumpOptions(pid, imagesDir, false, message -> { }, null);
    }

    public DumpOptions leavingRunning(boolean leave) {
        return new DumpOptions(pid, imagesDir, leave, progress, prevImagesDir);
    }

    public DumpOptions withProgress(Consumer<String> sink) {
        return new DumpOptions(pid, imagesDir, leaveRunning, sink, prevImagesDir);
    }

    public DumpOptions withParent(Path prev) {
        return new DumpOptions(pid, imagesDir, leaveRunning, progress, prev);
    }
}
