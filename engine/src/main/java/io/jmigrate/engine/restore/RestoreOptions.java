package io.jmigrate.engine.restore;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Where the images are, and who hears about progress.
 *
 * @param shellJobTerminal the terminal that descriptors dumped with --shell-job are connected to (the restoring
 *                         jmigrate's own, see {@link ShellJob#ownTerminal()}); null: such images are refused
 */
public record RestoreOptions(Path imagesDir, Consumer<String> progress, Path shellJobTerminal) {
    public static RestoreOptions of(Path imagesDir) {
        return new RestoreOptions(imagesDir, message -> { }, null);
    }

    public RestoreOptions withProgress(Consumer<String> sink) {
        return new RestoreOptions(imagesDir, sink, shellJobTerminal);
    }

    public RestoreOptions withShellJob(Path terminal) {
        return new RestoreOptions(imagesDir, progress, terminal);
    }
}
