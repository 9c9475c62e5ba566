package io.jmigrate.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Identity of this build and of the machine, recorded in every image set. */
public final class Version {
    public static final String VERSION = "0.1.0";

    private Version() {}

    public static String kernelRelease() {
        return readTrimmed("/proc/sys/kernel/osrelease");
    }

    public static String hostname() {
        return readTrimmed("/proc/sys/kernel/hostname");
    }

    private static String readTrimmed(String path) {
        try {
            return Files.readString(Path.of(path)).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
