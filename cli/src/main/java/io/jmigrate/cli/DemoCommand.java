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
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.pageserver.NetworkImageSink;
import io.jmigrate.pageserver.PageServer;
import io.jmigrate.transport.Certificates;
import io.jmigrate.transport.Compression;
import io.jmigrate.transport.RoundSender;
import io.jmigrate.transport.TlsSettings;
import io.jmigrate.transport.TransportClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.InetSocketAddress;
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
                "dumps it (the process is killed), restores it and shows the counter continuing.",
                "",
                "Then a live migration as between two hosts, here over loopback: a page server (the target side)",
                "listens with TLS 1.3 and mutual authentication (a CA and certificates made for the demo); a",
                "workload rewriting 10 MB/s of its memory is pre-copied to it round after round, each round sending",
                "only the pages written since the one before, until the rest fits a 30 ms freeze; the final dump",
                "freezes it for those milliseconds, and it is restored from what the page server received and",
                "checks every page. Needs root and gcc.",
                ""})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--mib", defaultValue = "256", description = "size of the workload's buffer (default ${DEFAULT-VALUE} MiB)")
    int mib;

    @Option(names = "--keep", description = "leave the restored workloads running at the end")
    boolean keep;

    @Option(names = "--local-only", description = "checkpoint and restore only, no migration through a page server")
    boolean localOnly;

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
            say("   PID " + restored.pid() + " left running; stop it with: kill " + restored.pid());
        } else {
            Reaper.killAndReap(restored.pid(), Duration.ofSeconds(10));
        }
        int status = localOnly ? 0 : migrate(work);
        say(status == 0 ? "done. Images, certificates and logs are in " + work : "the demo FAILED; what it left is in " + work);
        return status;
    }

    /** Pre-copy rounds into a page server over TLS, the final dump, and a restore from what the page server stored. */
    private int migrate(Path work) throws Exception {
        say("5. live migration with pre-copy through a page server, both ends on this host");
        Path pki = work.resolve("pki");
        Certificates.initCa(pki, "jmigrate demo CA", Duration.ofDays(1));
        Certificates.issue(pki, "target", List.of("127.0.0.1"), Duration.ofDays(1));
        Certificates.issue(pki, "source", List.of(), Duration.ofDays(1));
        // on tmpfs, as a target keeps what it receives for a restore that follows at once
        Path shm = Path.of("/dev/shm");
        Path received = Files.isDirectory(shm) ? Files.createTempDirectory(shm, "jmigrate-demo-received-") : work.resolve("received");
        Path log = work.resolve("dirtier.log");
        int pid = -1;
        try (PageServer server = PageServer.start(new InetSocketAddress("127.0.0.1", 0),
                TlsSettings.fromDirectory(pki, "target", TlsSettings.Provider.AUTO).serverContext(), received, m -> {});
             TransportClient client = TransportClient.tls(TlsSettings.fromDirectory(pki, "source", TlsSettings.Provider.AUTO), "source")) {
            say("   page server on " + server.address() + " storing into " + received + "; TLS 1.3, each side shows a");
            say("   certificate of the demo's CA (jmigrate certs init / certs issue make them for real hosts)");
            pid = Workload.startDirtier(log, mib, 10);
            int dirtier = pid;
            Workload.awaitLine(log, "ready", 1, Duration.ofSeconds(120));
            say("   dirtier, PID " + dirtier + ", holds " + mib + " MiB of known contents and rewrites 10 MB/s of it");

            Path prev = PreCopy.run(Duration.ofMillis(30), 8, (round, parent) -> {
                Path shadow = work.resolve("shadow-" + round);
                try (NetworkImageSink sink = new NetworkImageSink(RoundSender.open(client, server.address(), "round-" + round,
                        2, Compression.AUTO), server.address().toString(), shadow)) {
                    return new PreCopy.Done(new PreDumper().preDump(PreDumper.Options.of(dirtier, shadow).withParent(parent), sink), shadow);
                }
            }, r -> say(String.format("   jmigrate pre-dump, round %d: %.1f MiB sent while the process ran (%d of %d pages"
                            + " written since the round before), frozen %.1f ms -> %s", r.round(),
                    r.result().stats().getBytesWritten() / 1048576.0, r.stats().dirtyPages(), r.stats().pagesScanned(),
                    r.result().stats().getFrozenNanos() / 1e6, r.verdict().reason())));
            DumpResult last;
            try (NetworkImageSink sink = new NetworkImageSink(RoundSender.open(client, server.address(), "final", 2,
                    Compression.AUTO), server.address().toString(), work.resolve("shadow-final"))) {
                last = new Dumper().dump(DumpOptions.of(dirtier, work.resolve("shadow-final")).withParent(prev)
                        .withProgress(m -> say("     " + m)), sink);
            }
            say(String.format("   jmigrate dump (final): frozen %.1f ms, %d pages sent, %d already on the page server",
                    last.frozenMillis(), last.stats().getPagesWritten(), last.stats().getPagesInParent()));
            Reaper.awaitGone(pid, Duration.ofSeconds(10));
            pid = -1;

            Path set = received.resolve("final");
            say("6. jmigrate restore -D " + set + "   (the chain of rounds the page server stored)");
            RestoreResult restored = new Restorer().restore(RestoreOptions.of(set));
            pid = restored.pid();
            Signals.kill(pid, Signals.SIGUSR1);      // dirtier checks every page and reports
            String verdict = Workload.awaitLine(log, "verif", 1, Duration.ofSeconds(120));
            say("   restored as PID " + pid + " in " + String.format("%.1f ms", restored.totalMillis()) + "; the workload says: " + verdict);
            if (!verdict.startsWith("verified")) return 1;
            if (keep) {
                say("   PID " + pid + " left running; stop it with: kill " + pid);
                pid = -1;
            }
            return 0;
        } finally {
            if (pid > 0) Reaper.killAndReap(pid, Duration.ofSeconds(10));
            if (!keep && received.startsWith(shm)) Trees.delete(received);   // memory, not disk: not left behind
        }
    }

    private static void say(String line) {
        System.out.println(line);
    }
}
