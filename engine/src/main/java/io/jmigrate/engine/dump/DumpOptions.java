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
 * @param shellJob     descriptors on a terminal are dumped (as FD_TTY) instead of refused: the restore connects them
 *                     to its own terminal (restore --shell-job)
 */
public record DumpOptions(int pid, Path imagesDir, boolean leaveRunning, Consumer<String> progress, Path prevImagesDir,
                          boolean shellJob) {
    public static DumpOptions of(int pid, Path imagesDir) {
        return new DumpOptions(pid, imagesDir, false, message -> { }, null, false);
    }

    public DumpOptions leavingRunning(boolean leave) {
        return new DumpOptions(pid, imagesDir, leave, progress, prevImagesDir, shellJob);
    }

    public DumpOptions withProgress(Consumer<String> sink) {
        return new DumpOptions(pid, imagesDir, leaveRunning, sink, prevImagesDir, shellJob);
    }

    public DumpOptions withParent(Path prev) {
        return new DumpOptions(pid, imagesDir, leaveRunning, progress, prev, shellJob);
    }

    public DumpOptions withShellJob(boolean terminalsAllowed) {
        return new DumpOptions(pid, imagesDir, leaveRunning, progress, prevImagesDir, terminalsAllowed);
    }
}
