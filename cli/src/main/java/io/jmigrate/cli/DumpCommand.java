package io.jmigrate.cli;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpResult;
import io.jmigrate.engine.dump.Dumper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "dump", mixinStandardHelpOptions = true,
        description = {
                "Checkpoint a process into an images directory; it is killed afterwards unless --leave-running.",
                "",
                "A failed dump leaves the process running as before and no complete image set behind.",
                "Supported now: single-threaded processes without children whose descriptors are regular files,",
                "directories and /dev/null-like devices. Anything else is refused with the reason.",
                ""},
        footer = {"", "Example:", "  jmigrate dump -t 4242 -D /tmp/img --leave-running"})
final class DumpCommand implements Callable<Integer> {
    @Option(names = {"-t", "--tree"}, required = true, paramLabel = "PID", description = "PID of the process to dump")
    int pid;

    @Option(names = {"-D", "--images-dir"}, required = true, paramLabel = "DIR",
            description = "directory for the images (created if missing; an old image set there is replaced)")
    Path dir;

    @Option(names = "--leave-running", description = "resume the process after the dump instead of killing it")
    boolean leaveRunning;

    @Option(names = {"-v", "--verbose"}, description = "print progress to stderr")
    boolean verbose;

    @Option(names = "--prev-images-dir", paramLabel = "P",
            description = "a pre-dump (jmigrate pre-dump) to build on: only pages changed since are written")
    Path prev;

    @Override
    public Integer call() {
        DumpOptions options = DumpOptions.of(pid, dir).leavingRunning(leaveRunning).withParent(prev)
                .withProgress(verbose ? m -> System.err.println("dump: " + m) : m -> { });
        DumpResult result = new Dumper().dump(options);
        var s = result.stats();
        System.err.printf("dumped PID %d to %s: %.1f MiB of memory%s, frozen %.1f ms%s%n", pid, dir,
                s.getBytesWritten() / 1048576.0,
                prev == null ? "" : String.format(" (%.1f MiB unchanged, left to %s)", s.getPagesInParent() * 4096 / 1048576.0, prev),
                s.getFrozenNanos() / 1e6, leaveRunning ? " (left running)" : "");
        return 0;
    }
}
