package io.jmigrate.cli;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpResult;
import io.jmigrate.engine.dump.Dumper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "dump", mixinStandardHelpOptions = true,
        description = {
                "Checkpoint a process and all its descendants into an images directory.",
                "They are killed afterwards, so `jmigrate restore` can give them their",
                "PIDs back, unless --leave-running.",
                "",
                "A failed dump leaves every process running as before, and no complete",
                "image set behind.",
                "",
                "Carried over: threads, process groups, sessions, zombies, memory,",
                "registers, signals, timers (POSIX timers too), credentials, seccomp,",
                "cgroup membership, regular files, pipes, FIFOs, unix socket pairs and",
                "listeners, eventfd, timerfd, signalfd, epoll, inotify, TCP listeners and",
                "established TCP connections (TCP repair; a network lock holds back their",
                "packets until the restore), terminals with --shell-job. Anything else is",
                "refused before the process is touched, with one line naming the resource",
                "and what to do.",
                ""},
        footer = {"", "Examples:",
                "  jmigrate dump -t 4242 -D /tmp/img       # checkpoint; the tree stops",
                "  jmigrate restore -D /tmp/img            # and carries on, same PIDs",
                "  jmigrate dump -t 4242 -D /tmp/img --leave-running   # a snapshot",
                "  jmigrate dump -t 4242 --page-server node2:7070      # straight to node2's page server",
                "  jmigrate show -D /tmp/img               # what an image set holds"})
final class DumpCommand implements Callable<Integer> {
    @Option(names = {"-t", "--tree"}, required = true, paramLabel = "PID", description = "PID of the root of the process tree to dump (its descendants come along)")
    int pid;

    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR",
            description = "directory for the images (created if missing; an old image set there is replaced);"
                    + " with --page-server, an optional local shadow (metadata, no pages) whose name is the default --round")
    Path dir;

    @Mixin
    PageServerTarget target;

    @Option(names = "--leave-running", description = "resume the process after the dump instead of killing it")
    boolean leaveRunning;

    @Option(names = "--shell-job", description = "dump descriptors on a terminal (a job started from a shell); "
            + "restore --shell-job connects them to its own terminal")
    boolean shellJob;

    @Option(names = {"-v", "--verbose"}, description = "print progress to stderr")
    boolean verbose;

    @Option(names = "--prev-images-dir", paramLabel = "P",
            description = "a pre-dump (jmigrate pre-dump) to build on: only pages changed since are written")
    Path prev;

    @picocli.CommandLine.Mixin
    AutoDedupOption autoDedup;

    @Override
    public Integer call() {
        autoDedup.check(target);
        DumpOptions options = DumpOptions.of(pid, dir).leavingRunning(leaveRunning).withParent(prev).withShellJob(shellJob)
                .withProgress(verbose ? m -> System.err.println("dump: " + m) : m -> { });
        target.checkTarget(dir);
        DumpResult result;
        if (target.networked()) {
            try (PageServerTarget.Connection c = target.connect(target.roundName(dir, "dump-" + pid), dir, prev)) {
                result = new Dumper().dump(options, c.sink());
            }
        } else {
            result = new Dumper().dump(options);
        }
        var s = result.stats();
        System.err.printf("dumped PID %d to %s: %.1f MiB of memory%s, frozen %.1f ms%s%n", pid, result.imagesDir(),
                s.getBytesWritten() / 1048576.0,
                prev == null ? "" : String.format(" (%.1f MiB unchanged, left to %s)", s.getPagesInParent() * 4096 / 1048576.0, prev),
                s.getFrozenNanos() / 1e6, leaveRunning ? " (left running)" : "");
        if (target.networked()) System.out.println(result.imagesDir());   // the directory on the page server's host
        if (!target.networked()) autoDedup.afterCommit(result.imagesDir(), "dump");
        return 0;
    }
}
