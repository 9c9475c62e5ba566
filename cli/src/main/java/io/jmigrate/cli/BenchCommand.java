package io.jmigrate.cli;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpResult;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.dump.PreCopy;
import io.jmigrate.engine.dump.PreDumper;
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
import java.util.concurrent.Callable;

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

    @Option(names = "--pre-copy", description = {"measure pre-copy instead: uffd-wp tracking cost (arm, register, scan) for",
            "--tracking-mib sizes, and the frozen time of the final dump of a --mib process writing --rate MB/s after",
            "converged pre-copy rounds, against stop-and-copy of the same process"})
    boolean preCopy;

    @Option(names = "--rate", defaultValue = "10", description = "MB/s the pre-copy workload writes (default ${DEFAULT-VALUE})")
    double rate;

    @Option(names = "--tracking-mib", defaultValue = "256,1024,4096", split = ",",
            description = "process sizes for the tracking cost (default ${DEFAULT-VALUE})")
    int[] trackingMib;

    @Override
    public Integer call() throws Exception {
        if (preCopy) return preCopyBench();
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
                Trees.delete(images);
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
            Trees.delete(work);
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

    private int preCopyBench() throws Exception {
        Prctl.becomeChildSubreaper();
        Path work = Files.createTempDirectory(base, "jmigrate-bench-");
        int pid = -1;
        try {
            for (int size : trackingMib) {
                Path log = work.resolve("idle-" + size + ".log");
                pid = Workload.startDirtier(log, size, 0);
                Workload.awaitLine(log, "ready", 1, Duration.ofSeconds(600));
                var c = new io.jmigrate.engine.dump.PreDumper().measureTrackingCost(pid);
                System.out.printf("tracking %d MiB (%d pages): arm %.2f ms frozen; register+protect %.1f ms; scan %.1f ms"
                                + " (%d dirty); close %.2f ms frozen%n", size, c.privatePages(), c.armFrozenNanos() / 1e6,
                        c.registerNanos() / 1e6, c.scanNanos() / 1e6, c.dirtyAtScan(), c.closeFrozenNanos() / 1e6);
                Reaper.killAndReap(pid, Duration.ofSeconds(10));
                pid = -1;
            }
            Path log = work.resolve("dirtier.log");
            pid = Workload.startDirtier(log, mib, rate);
            Workload.awaitLine(log, "ready", 1, Duration.ofSeconds(600));
            System.out.printf("pre-copy: %d MiB process writing %.0f MB/s, images on %s, downtime budget 30 ms,"
                    + " %d cycles after one warm-up cycle%n", mib, rate, base, runs);
            // Each cycle pre-copies the process, final-dumps it and restores it from the chain; the restored process
            // checks every page, then the same cycle runs on it again. The first cycle warms the JVM up (a source
            // agent is a long-running process) and is reported apart.
            Histogram preCopyFrozen = new Histogram(3), stopAndCopyFrozen = new Histogram(3);
            boolean allVerified = true;
            int verdicts = 0;
            for (int cycle = 0; cycle <= runs; cycle++) {
                boolean warmUp = cycle == 0;
                DumpResult last = preCopyCycle(pid, work, cycle);
                Reaper.awaitGone(pid, Duration.ofSeconds(10));
                pid = new Restorer().restore(RestoreOptions.of(work.resolve("final-" + cycle))).pid();
                io.jmigrate.engine.sys.Signals.kill(pid, io.jmigrate.engine.sys.Signals.SIGUSR1);
                String verdict = Workload.awaitLine(log, "verif", ++verdicts, Duration.ofSeconds(120));
                allVerified &= verdict.startsWith("verified");
                System.out.printf("%s: final dump after pre-copy frozen %.1f ms, %d pages copied, %d left to the pre-dumps;"
                                + " restored from the chain, the workload says: %s%n", warmUp ? "warm-up" : "cycle " + cycle,
                        last.stats().getFrozenNanos() / 1e6, last.stats().getPagesWritten(), last.stats().getPagesInParent(), verdict);
                if (!warmUp) preCopyFrozen.recordValue(last.stats().getFrozenNanos() / 1000);
                for (int round = 1; round <= 8; round++) Trees.delete(work.resolve("pre-" + cycle + "-" + round));
                Trees.delete(work.resolve("final-" + cycle));
            }
            for (int cycle = 0; cycle <= runs; cycle++) {
                Path dir = work.resolve("stop-and-copy-" + cycle);
                DumpResult full = new Dumper().dump(DumpOptions.of(pid, dir).withProgress(this::progress));
                Reaper.awaitGone(pid, Duration.ofSeconds(10));
                pid = new Restorer().restore(RestoreOptions.of(dir)).pid();
                System.out.printf("%s: stop-and-copy of the same process frozen %.1f ms, %d pages copied%n",
                        cycle == 0 ? "warm-up" : "cycle " + cycle, full.stats().getFrozenNanos() / 1e6, full.stats().getPagesWritten());
                if (cycle > 0) stopAndCopyFrozen.recordValue(full.stats().getFrozenNanos() / 1000);
                Trees.delete(dir);
            }
            System.out.printf("frozen time, final dump after pre-copy: p50 %.1f ms, max %.1f ms (goal < 30 ms)%n",
                    preCopyFrozen.getValueAtPercentile(50) / 1e3, preCopyFrozen.getMaxValue() / 1e3);
            System.out.printf("frozen time, stop-and-copy:             p50 %.1f ms, max %.1f ms%n",
                    stopAndCopyFrozen.getValueAtPercentile(50) / 1e3, stopAndCopyFrozen.getMaxValue() / 1e3);
            Reaper.killAndReap(pid, Duration.ofSeconds(10));
            pid = -1;
            return allVerified ? 0 : 1;
        } finally {
            if (pid > 0) Reaper.killAndReap(pid, Duration.ofSeconds(10));
            Trees.delete(work);
        }
    }

    /** Pre-dump rounds until the convergence policy says freeze, then the final dump (which kills the process). */
    private DumpResult preCopyCycle(int pid, Path work, int cycle) {
        Path prev = PreCopy.run(Duration.ofMillis(30), 8, (round, parent) -> {
            Path dir = work.resolve("pre-" + cycle + "-" + round);
            return new PreCopy.Done(new PreDumper().preDump(PreDumper.Options.of(pid, dir).withParent(parent)
                    .withProgress(this::progress)), dir);
        }, r -> {
            if (verbose) System.out.printf("  %s [%s] -> %s: %s%n", r.stats().describe(), r.result().tracking(),
                    r.verdict().decision(), r.verdict().reason());
        });
        return new Dumper().dump(DumpOptions.of(pid, work.resolve("final-" + cycle)).withParent(prev).withProgress(this::progress));
    }
}
