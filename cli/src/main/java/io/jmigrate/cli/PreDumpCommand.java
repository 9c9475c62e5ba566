package io.jmigrate.cli;

import io.jmigrate.engine.check.DirtyTracking;
import io.jmigrate.engine.dump.PreDumper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

@Command(name = "pre-dump", mixinStandardHelpOptions = true,
        description = {
                "Copy a process's memory into an images directory while it keeps running (a pre-copy round).",
                "",
                "The first round arms a dirty-page tracker in the process and copies everything; a round with",
                "--prev-images-dir copies only what was written since that round. Finish with",
                "'jmigrate dump --prev-images-dir LAST': it freezes the process and writes only the last changes.",
                "Restore the final dump as usual: it reads unchanged pages from the pre-dumps, which must stay.",
                ""},
        footer = {"", "Example:",
                "  jmigrate pre-dump -t 4242 -D /tmp/pre1",
                "  jmigrate pre-dump -t 4242 -D /tmp/pre2 --prev-images-dir /tmp/pre1",
                "  jmigrate dump -t 4242 -D /tmp/final --prev-images-dir /tmp/pre2",
                "Over the network (-D keeps a local shadow, no pages; its name is the round on the server):",
                "  jmigrate pre-dump -t 4242 --page-server node2:7070 -D /tmp/pre1",
                "  jmigrate pre-dump -t 4242 --page-server node2:7070 -D /tmp/pre2 --prev-images-dir /tmp/pre1",
                "  jmigrate dump -t 4242 --page-server node2:7070 --round final --prev-images-dir /tmp/pre2"})
final class PreDumpCommand implements Callable<Integer> {
    @Option(names = {"-t", "--tree"}, required = true, paramLabel = "PID", description = "PID of the process (tree) to pre-dump")
    int pid;

    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR",
            description = "directory for this round's images (created if missing; an old image set there is replaced);"
                    + " with --page-server, the round's local shadow (metadata and page index, no pages) for the next"
                    + " round's --prev-images-dir (default: $TMPDIR/jmigrate-shadows/ROUND); its name is the default --round")
    Path dir;

    @picocli.CommandLine.Mixin
    PageServerTarget target;

    @Option(names = "--prev-images-dir", paramLabel = "P", description = "the previous pre-dump round to build on")
    Path prev;

    @Option(names = "--dirty-tracking", paramLabel = "BACKEND",
            description = "force a backend: uffd-wp-async, soft-dirty or full-copy (default: the best the kernel offers)")
    String tracking;

    @Option(names = {"-v", "--verbose"}, description = "print progress to stderr")
    boolean verbose;

    @picocli.CommandLine.Mixin
    AutoDedupOption autoDedup;

    @Override
    public Integer call() {
        autoDedup.check(target);
        DirtyTracking forced = null;
        if (tracking != null) {
            forced = Arrays.stream(DirtyTracking.values()).filter(d -> d.label().equals(tracking)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown --dirty-tracking " + tracking
                            + ": use uffd-wp-async, soft-dirty or full-copy"));
        }
        target.checkTarget(dir);
        String roundName = target.roundName(dir, "pre-dump-" + pid);
        Path local = !target.networked() || dir != null ? dir : PageServerTarget.defaultShadow(roundName);
        PreDumper.Options options = PreDumper.Options.of(pid, local).withParent(prev).withTracking(forced)
                .withProgress(m -> { if (verbose || m.startsWith("warning:")) System.err.println("pre-dump: " + m); })
                .withRounds(r -> System.err.println("pre-dump: " + r.describe()));
        PreDumper.Result result;
        if (target.networked()) {
            try (PageServerTarget.Connection c = target.connect(roundName, local, prev)) {
                result = new PreDumper().preDump(options, c.sink());
            }
        } else {
            result = new PreDumper().preDump(options);
        }
        var s = result.stats();
        System.err.printf("pre-dumped PID %d to %s (%s): %.1f MiB copied, %.1f MiB unchanged, frozen %.1f ms, %.1f ms in all%n",
                pid, result.imagesDir(), result.tracking(), s.getBytesWritten() / 1048576.0, s.getPagesInParent() * 4096 / 1048576.0,
                s.getFrozenNanos() / 1e6, s.getTotalNanos() / 1e6);
        if (target.networked()) {
            System.err.println("pre-dump: shadow for the next round's --prev-images-dir: " + local);
            System.out.println(result.imagesDir());   // the directory on the page server's host
        }
        if (!target.networked()) autoDedup.afterCommit(result.imagesDir(), "pre-dump");
        return 0;
    }
}
