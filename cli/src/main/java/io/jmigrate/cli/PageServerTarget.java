package io.jmigrate.cli;

import io.jmigrate.pageserver.NetworkImageSink;
import io.jmigrate.transport.RoundSender;
import io.jmigrate.transport.TransportClient;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * dump and pre-dump: where the images go, a local directory (-D) or a page server (--page-server, with the TLS
 * options send-images takes). Connecting happens before the process is touched, so a page server that is down or
 * refuses our certificate fails the command with the process untouched.
 */
final class PageServerTarget {
    @Option(names = "--page-server", paramLabel = "ADDR:PORT",
            description = "send the images to a running 'jmigrate page-server' instead of writing them to -D")
    String server;

    @Option(names = "--round", paramLabel = "NAME",
            description = "with --page-server: name of the set on the server (default: dump-PID or pre-dump-PID)")
    String round;

    @Option(names = "--streams", defaultValue = "2", description = "with --page-server: parallel TLS streams (default 2)")
    int streams;

    @Option(names = "--no-compress", description = "with --page-server: send pages raw, without LZ4")
    boolean noCompress;

    @Mixin
    TlsOptions tls;

    /** A connected sink and what it holds open; closing aborts the round unless the dump committed it. */
    record Connection(TransportClient client, NetworkImageSink sink) implements AutoCloseable {
        @Override
        public void close() {
            try {
                sink.close();
            } finally {
                client.close();
            }
        }
    }

    boolean networked() { return server != null; }

    /** Checks that exactly one of -D and --page-server was given. */
    void checkExclusive(Path dir) {
        if (dir == null && server == null) throw new IllegalArgumentException("give -D DIR or --page-server ADDR:PORT");
        if (dir != null && server != null)
            throw new IllegalArgumentException("give -D DIR or --page-server ADDR:PORT, not both");
    }

    Connection connect(String defaultRound) {
        var addr = TlsOptions.parseAddress(server, "--page-server");
        TransportClient client = TransportClient.tls(tls.settings(), tls.name());
        try {
            RoundSender sender = RoundSender.open(client, addr, round != null ? round : defaultRound, streams, !noCompress);
            return new Connection(client, new NetworkImageSink(sender, server));
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }
}
