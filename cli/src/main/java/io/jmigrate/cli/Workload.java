package io.jmigrate.cli;

import io.jmigrate.engine.sys.Spawn;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The bundled workload (memhog: a buffer of known contents, verified continually, and a counter in a log),
 * compiled from the C source shipped in the jar on first use.
 */
final class Workload {
    private Workload() {}

    static Path memhogBinary() throws IOException, InterruptedException {
        return binary("memhog");
    }

    /** The pre-copy workload: MIB MiB rewritten at RATE MB/s, checked on SIGUSR1 (fixtures/dirtier.c). */
    static int startDirtier(Path log, int mib, double mbPerSecond) throws IOException, InterruptedException {
        Path bin = binary("dirtier");
        return Spawn.spawn(Spawn.Request.of(List.of(bin.toString(), Integer.toString(mib), Double.toString(mbPerSecond)))
                .withOutput(log).withCwd(log.getParent()));
    }

    static Path binary(String name) throws IOException, InterruptedException {
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "jmigrate");
        Files.createDirectories(cache);
        byte[] code;
        try (InputStream in = Workload.class.getResourceAsStream("/workloads/" + name + ".c")) {
            if (in == null) throw new IOException(name + ".c is missing from the jar");
            code = in.readAllBytes();
        }
        // named by its source's checksum: a changed workload is compiled again, never run stale
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(code);
        Path binary = cache.resolve(name + "-" + Long.toHexString(crc.getValue()));
        if (Files.isExecutable(binary)) return binary;
        Path source = cache.resolve(name + ".c");
        Files.write(source, code);
        Path tmp = cache.resolve(name + ".tmp");
        Process cc = new ProcessBuilder("cc", "-O2", "-o", tmp.toString(), source.toString())
                .redirectErrorStream(true).start();
        String out = new String(cc.getInputStream().readAllBytes());
        if (cc.waitFor() != 0) throw new IOException("compiling the demo workload failed (is gcc installed?): " + out);
        Files.move(tmp, binary, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return binary;
    }

    static int startMemhog(Path log, int mib, String mode) throws IOException, InterruptedException {
        Path bin = memhogBinary();
        return Spawn.spawn(Spawn.Request.of(List.of(bin.toString(), log.toString(), Integer.toString(mib), mode))
                .withCwd(log.getParent()));
    }

    /** Waits for the {@code n}-th line of {@code log} that starts with {@code prefix} (from 1), and returns it. */
    static String awaitLine(Path log, String prefix, int n, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (Files.exists(log)) {
                List<String> found = Files.readAllLines(log).stream().filter(l -> l.startsWith(prefix)).toList();
                if (found.size() >= n) return found.get(n - 1);
            }
            if (System.nanoTime() > deadline)
                throw new IOException(log + ": no line " + n + " starting with '" + prefix + "' within " + timeout);
            Thread.sleep(10);
        }
    }

    /** Waits until the log has at least {@code lines} lines. */
    static List<String> awaitLines(Path log, int lines, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<String> all = Files.exists(log) ? Files.readAllLines(log) : List.of();
            if (all.size() >= lines) return all;
            if (System.nanoTime() > deadline) {
                throw new IOException("workload wrote " + all.size() + " of " + lines + " expected log lines in " + timeout);
            }
            Thread.sleep(10);
        }
    }
}
