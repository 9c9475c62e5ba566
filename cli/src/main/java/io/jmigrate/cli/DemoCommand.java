package io.jmigrate.cli;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpResult;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.RestoreResult;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Prctl;
import io.jmigrate.engine.sys.Reaper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {
                "Checkpoint and restore a bundled workload and show it carry on, same PID, memory intact.",
                "",
                "Starts memhog (a buffer of known contents, verified continually, and a tick counter in a log),",
                "dumps it (the process is killed), restores it and shows the counter continuing. Needs root and gcc.",
                ""})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--mib", defaultValue = "256", description = "size of the workload's buffer (default ${DEFAULT-VALUE} MiB)")
    int mib;

    @Option(names = "--keep", description = "leave the restored workload running at the end")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        Prctl.becomeChildSubreaper();
        Path work = Files.createTempDirectory("jmigrate-demo-");
        Path log = work.resolve("memhog.log");
        Path images = work.resolve("images");
        say("1. starting the workload: memhog keeps " + mib + " MiB of known contents, checks them continually");
        say("   and appends a tick counter to " + log);
        int pid = Workload.startMemhog(log, mib, "sleep");
        List<String> before = Workload.awaitLines(log, 6, Duration.ofSeconds(60));
        say("   PID " + pid + " is running; last line: " + before.getLast());

        say("2. jmigrate dump -t " + pid + " -D " + images);
        DumpResult dump = new Dumper().dump(DumpOptions.of(pid, images).withProgress(m -> say("   " + m)));
        say(String.format("   %.1f MiB of memory written, process frozen for %.1f ms", dump.stats().getBytesWritten() / 1048576.0,
                dump.frozenMillis()));
        Reaper.awaitGone(pid, Duration.ofSeconds(10));
        int linesAtDump = Files.readAllLines(log).size();
        say("   PID " + pid + " is gone; its log stopped at: " + Files.readAllLines(log).getLast());

        say("3. jmigrate restore -D " + images);
        RestoreResult restored = new Restorer().restore(RestoreOptions.of(images).withProgress(m -> say("   " + m)));
        say(String.format("   restored as PID %d in %.1f ms", restored.pid(), restored.totalMillis()));

        List<String> after = Workload.awaitLines(log, linesAtDump + 5, Duration.ofSeconds(60));
        say("4. the workload carries on, same PID, counter continuing, checksum intact:");
        for (String line : after.subList(Math.max(0, linesAtDump - 2), Math.min(after.size(), linesAtDump + 3))) {
            say("   " + line);
        }
        boolean corrupt = after.stream().anyMatch(l -> l.startsWith("CORRUPT"));
        if (corrupt) {
            say("   the workload reported CORRUPT memory: the demo FAILED");
            return 1;
        }
        if (keep) {
            say("PID " + restored.pid() + " left running; stop it with: kill " + restored.pid());
        } else {
            Reaper.killAndReap(restored.pid(), Duration.ofSeconds(10));
            say("done; the workload was stopped. Images and log are in " + work);
        }
        return 0;
    }

    private static void say(String line) {
        System.out.println(line);
    }
}
