package io.jmigrate.cli;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpResult;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.RestoreResult;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Prctl;
import io.jmigrate.engine.sys.Reaper;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {
                "Measure dump and restore throughput (GB/s), frozen time and restore time.",
                "",
                "Runs dump+restore cycles of a memhog holding --mib MiB, images on tmpfs (/dev/shm).",
                ""},
        footer = {"", "Example:", "  jmigrate bench --mib 1024 --runs 5"})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--mib", defaultValue = "1024", description = "memory of the benchmarked process (default ${DEFAULT-VALUE})")
    int mib;

    @Option(names = "--runs", defaultValue = "5", description = "dump+restore cycles (default ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--dir", defaultValue = "/dev/shm", description = "where images go (default ${DEFAULT-VALUE}, a tmpfs)")
    Path base;

    @Option(names = {"-v", "--verbose"}, description = "print each step's progress and timing breakdown")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        Prctl.becomeChildSubreaper();
        Path work = Files.createTempDirectory(base, "jmigrate-bench-");
        Histogram frozen = new Histogram(3), restore = new Histogram(3);
        double dumpGbs = 0, restoreGbs = 0;
        Path log = work.resolve("memhog.log");
        int pid = Workload.startMemhog(log, mib, "sleep");
        try {
            Workload.awaitLines(log, 3, Duration.ofSeconds(120));
            System.out.printf("bench: %d MiB process, images on %s, %d runs%n", mib, base, runs);
            System.out.printf("baseline: first touch of %d MiB of fresh anonymous memory %.2f GB/s (what a restore must"
                    + " at least pay on this machine)%n", mib, freshMemoryGbs((long) mib << 20));
            for (int run = 0; run < runs; run++) {
                Path images = work.resolve("images-" + run);
                DumpResult dump = new Dumper().dump(DumpOptions.of(pid, images).withProgress(this::progress));
                Reaper.awaitGone(pid, Duration.ofSeconds(10));
                RestoreResult restored = new Restorer().restore(RestoreOptions.of(images).withProgress(this::progress));
                pid = restored.pid();
                double bytes = dump.stats().getBytesWritten();
                double d = bytes / dump.stats().getMemoryNanos();
                double r = bytes / restored.memoryNanos();
                dumpGbs += d;
                restoreGbs += r;
                frozen.recordValue(dump.stats().getFrozenNanos() / 1000);
                restore.recordValue(restored.totalNanos() / 1000);
                System.out.printf("run %d: dump %.0f MiB frozen %.1f ms (memory copy %.2f GB/s); restore %.1f ms (memory fill %.2f GB/s)%n",
                        run, bytes / 1048576, dump.stats().getFrozenNanos() / 1e6, d, restored.totalNanos() / 1e6, r);
                deleteTree(images);
                int linesBefore = Files.readAllLines(log).size();
                Workload.awaitLines(log, linesBefore + 1, Duration.ofSeconds(60));
            }
            System.out.printf("summary: dump memory %.2f GB/s, restore memory %.2f GB/s (mean); frozen p50 %.1f ms max %.1f ms;"
                            + " restore p50 %.1f ms max %.1f ms%n", dumpGbs / runs, restoreGbs / runs,
                    frozen.getValueAtPercentile(50) / 1e3, frozen.getMaxValue() / 1e3,
                    restore.getValueAtPercentile(50) / 1e3, restore.getMaxValue() / 1e3);
            boolean corrupt = Files.readAllLines(log).stream().anyMatch(l -> l.startsWith("CORRUPT"));
            if (corrupt) {
                System.out.println("bench: the workload reported CORRUPT memory");
                return 1;
            }
            return 0;
        } finally {
            Reaper.killAndReap(pid, Duration.ofSeconds(10));
            deleteTree(work);
        }
    }

    /** The rate at which this machine hands out and first touches new memory: the floor under any restore. */
    private static double freshMemoryGbs(long bytes) {
        long addr = io.jmigrate.engine.sys.Mman.mmap(0, bytes, 3, 0x22, -1, 0);
        try {
            long t0 = System.nanoTime();
            io.jmigrate.engine.sys.Mman.populateWrite(addr, bytes);
            return (double) bytes / (System.nanoTime() - t0);
        } finally {
            io.jmigrate.engine.sys.Mman.munmap(addr, bytes);
        }
    }

    private void progress(String message) {
        if (verbose) System.out.println("  " + message);
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
