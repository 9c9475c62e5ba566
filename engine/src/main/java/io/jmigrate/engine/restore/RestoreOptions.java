package io.jmigrate.engine.restore;

import java.nio.file.Path;
import java.util.function.Consumer;

/** Where the images are, and who hears about progress. */
public record RestoreOptions(Path imagesDir, Consumer<String> progress) {
    public static RestoreOptions of(Path imagesDir) {
        return new RestoreOptions(imagesDir, message -> { });
    }

    public RestoreOptions withProgress(Consumer<String> sink) {
        return new RestoreOptions(imagesDir, sink);
    }
}
