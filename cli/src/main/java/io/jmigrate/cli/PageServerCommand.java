package io.jmigrate.cli;

import io.jmigrate.pageserver.PageServer;
import io.jmigrate.transport.Transport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "page-server", mixinStandardHelpOptions = true,
        description = {"Receive image sets (pre-dump rounds and final dumps) from other hosts into DIR/ROUND, and serve",
                "their pages to lazy-page requests. TLS 1.3: every client needs a certificate of this cluster's CA.",
                "A round appears under its name only once its sender committed it; a sender that vanishes",
                "mid-round leaves nothing behind. Runs until killed; logs to stderr.", ""},
        footer = {"", "Example:", "  jmigrate page-server --listen 0.0.0.0:7070 -D /dev/shm/incoming --cert-name node2"})
final class PageServerCommand implements Callable<Integer> {
    @Option(names = "--listen", required = true, paramLabel = "ADDR:PORT", description = "address and port to listen on")
    String listen;

    @Option(names = {"-D", "--images-dir"}, required = true, paramLabel = "DIR",
            description = "where received rounds go (on tmpfs they stay in memory for a restore that follows)")
    Path dir;

    @Option(names = "--progress", defaultValue = "5", paramLabel = "SECONDS",
            description = "report rounds in progress every SECONDS (0: never)")
    int progressSeconds;

    @Mixin
    TlsOptions tls;

    @Override
    public Integer call() throws InterruptedException {
        var settings = tls.settings();
        PageServer server = PageServer.start(TlsOptions.parseAddress(listen, "--listen"), settings.serverContext(), dir,
                line -> System.err.println("page-server: " + line));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        System.err.println("page-server: listening on " + server.address().getHostString() + ":" + server.address().getPort()
                + " (TLS 1.3, " + settings.sslProvider() + ", " + Transport.describe() + "), rounds go to " + dir);
        while (!stopped.await(progressSeconds > 0 ? progressSeconds : 3600, java.util.concurrent.TimeUnit.SECONDS)) {
            if (progressSeconds > 0 && server.roundsInProgress() > 0)
                System.err.println("page-server: " + server.roundsInProgress() + " round(s) in progress, "
                        + server.bytesInProgress() / (1 << 20) + " MiB received");
        }
        return 0;
    }
}
