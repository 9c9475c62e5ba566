package io.jmigrate.cli;

import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.pageserver.ImageSetSender;
import io.jmigrate.transport.RoundSender;
import io.jmigrate.transport.TransportClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "send-images", mixinStandardHelpOptions = true,
        description = {"Stream a local image set to a page server, which stores the same set as DIR/ROUND on its side.",
                "Prints the directory on the page server's host.", ""},
        footer = {"", "Example:", "  jmigrate send-images -D /tmp/img --page-server node2:7070 --round final"})
final class SendImagesCommand implements Callable<Integer> {
    @Option(names = {"-D", "--images-dir"}, required = true, paramLabel = "DIR", description = "a complete image set")
    Path dir;

    @Option(names = "--page-server", required = true, paramLabel = "ADDR:PORT", description = "the receiving page server")
    String server;

    @Option(names = "--round", paramLabel = "NAME", description = "name of the set on the server (default: DIR's name)")
    String round;

    @Mixin
    StreamOptions transfer;

    @Option(names = "--max-rate", paramLabel = "MB/s", defaultValue = "0",
            description = "send at most this many MB of memory per second (default: no limit)")
    long maxRate;

    @Mixin
    TlsOptions tls;

    @Override
    public Integer call() {
        ImageSet set = ImageSet.open(dir);
        String name = PageServerTarget.roundName(round, dir, "images");
        var addr = TlsOptions.parseAddress(server, "--page-server");
        ImageSetSender.Result r;
        double lz4Share;
        try (TransportClient client = TransportClient.tls(tls.settings(), tls.name());
             RoundSender sender = transfer.open(client, addr, name)) {
            r = ImageSetSender.send(set, sender, maxRate * 1_000_000);
            lz4Share = sender.compressedShare();
        }
        double mib = r.pages() * 4096.0 / (1 << 20);
        double secs = r.nanos() / 1e9;
        System.err.printf(Locale.ROOT, "sent %s to %s as %s: %.1f MiB of memory (%d pages, %d zero), %d files, "
                        + "%.1f MiB on the wire (LZ4 on %.0f%% of batches), %.2f s (%.2f GB/s)%n", dir, server, r.committed().getDirectory(), mib,
                r.pages(), r.holes(), r.files(), r.wireBytes() / (double) (1 << 20), 100 * lz4Share, secs, r.pages() * 4096.0 / 1e9 / secs);
        System.out.println(r.committed().getDirectory());
        return 0;
    }
}
