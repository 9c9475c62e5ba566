package io.jmigrate.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/** Test "hosts" as network namespaces, and jmigrate JVMs started inside them; shared by the two-host tests. */
final class HostNamespaces {
    private HostNamespaces() {}

    /** posix_spawn does not search PATH. */
    static final String IP = java.util.stream.Stream.of("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip")
            .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse("ip");

    static void run(List<String> cmd, boolean quiet) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) fail(cmd + " hung");
        if (p.exitValue() != 0 && !quiet) fail(cmd + " failed: " + out);
    }

    /** jmigrate in a child JVM inside namespace {@code ns} (ip netns exec execs java itself); added to {@code children}. */
    static Process javaIn(String ns, Path log, List<Process> children, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-Xmx1g", "-cp", System.getProperty("java.class.path"), "io.jmigrate.cli.Main"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        children.add(p);
        return p;
    }

    static void awaitFile(Path log, String text, Duration timeout) throws Exception {
        await("'" + text + "' in " + log, timeout, () -> {
            try {
                return Files.exists(log) && Files.readString(log).contains(text);
            } catch (IOException e) {
                return false;
            }
        });
    }

    static void await(String what, Duration timeout, BooleanSupplier condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
