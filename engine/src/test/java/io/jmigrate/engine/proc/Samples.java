package io.jmigrate.engine.proc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** The recorded /proc files under src/test/resources/proc-samples (see the README there). */
final class Samples {
    static final int KITCHEN = 3695;
    static final int WEIRD_SLEEP = 3838;
    static final int PYTHON = 3872;

    private Samples() {}

    static Path path(String relative) {
        URL url = Samples.class.getResource("/proc-samples/" + relative);
        if (url == null) throw new IllegalStateException("no sample " + relative);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static String text(String relative) {
        try {
            return Files.readString(path(relative), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] bytes(String relative) {
        try {
            return Files.readAllBytes(path(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Copies the recorded {@code sample/pid} directory into {@code procRoot/pid} and recreates the symlinks listed in
     * its links.txt, giving a directory that {@link ProcFs} can read as if it were /proc.
     */
    static void installProcTree(String sample, int pid, Path procRoot) throws IOException {
        Path source = path(sample + "/" + pid);
        Path target = procRoot.resolve(Integer.toString(pid));
        try (Stream<Path> files = Files.walk(source)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Path copy = target.resolve(source.relativize(file).toString());
                if (Files.isDirectory(file)) Files.createDirectories(copy);
                else Files.copy(file, copy);
            }
        }
        for (String line : Files.readAllLines(source.resolve("links.txt"))) {
            String[] nameAndTarget = line.split("\t", 2);
            Path link = target.resolve(nameAndTarget[0]);
            Files.createDirectories(link.getParent());
            Files.createSymbolicLink(link, Path.of(nameAndTarget[1]));
        }
    }
}
