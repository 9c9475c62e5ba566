package io.jmigrate.cli;

import io.jmigrate.pageserver.NetworkImageSink;
import io.jmigrate.transport.RoundSender;
import io.jmigrate.transport.TransportClient;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;

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
            description = "with --page-server: name of the set on the server (default: the name of -D, else dump-PID or pre-dump-PID)")
    String round;

    @Mixin
    StreamOptions transfer;

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

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    /** Options that mean nothing without --page-server: given alone they are a mistake worth naming. */
    private static final List<String> NETWORK_ONLY = List.of("--round", "--streams", "--compress", "--no-compress",
            "--certs", "--cert-name", "--tls-provider");

    /** Checks that -D or --page-server was given (with --page-server, -D is the round's local shadow). */
    void checkTarget(Path dir) {
        if (dir == null && server == null) throw new IllegalArgumentException("give -D DIR or --page-server ADDR:PORT");
        if (server == null && command != null) {
            var parsed = command.commandLine().getParseResult();
            for (String option : NETWORK_ONLY)
                if (parsed.hasMatchedOption(option))
                    throw new IllegalArgumentException(option + " only applies with --page-server (images go to -D " + dir + ")");
        }
    }

    /** The round's name on the page server: --round, else the name of -D, else {@code fallback}. */
    String roundName(Path dir, String fallback) {
        return roundName(round, dir, fallback);
    }

    /** A round's name on the page server: {@code round} if given, else the name of {@code dir}, else {@code fallback}. */
    static String roundName(String round, Path dir, String fallback) {
        if (round != null) return round;
        if (dir != null && dir.toAbsolutePath().normalize().getFileName() != null)
            return dir.toAbsolutePath().normalize().getFileName().toString();
        return fallback;
    }

    /**
     * Where a pre-dump round sent to a page server keeps its shadow (metadata and page index, no pages) for the next
     * round's --prev-images-dir: -D if given, else {@code $TMPDIR/jmigrate-shadows/ROUND}.
     */
    static Path defaultShadow(String roundName) {
        return Path.of(System.getProperty("java.io.tmpdir"), "jmigrate-shadows", roundName);
    }

    /**
     * Connects for round {@code roundName}; {@code shadow} (or null) receives the local shadow; {@code prev} (or null)
     * must be the shadow of an earlier round sent to a page server, refused in one line before anything is sent.
     */
    Connection connect(String roundName, Path shadow, Path prev) {
        if (prev != null) {
            String parentRound = NetworkImageSink.roundOfShadow(prev);
            if (parentRound.equals(roundName))
                throw new IllegalArgumentException("round " + roundName + " would replace its own parent round on the page"
                        + " server: give each round its own --round or -D");
        }
        var addr = TlsOptions.parseAddress(server, "--page-server");
        TransportClient client = TransportClient.tls(tls.settings(), tls.name());
        try {
            RoundSender sender = transfer.open(client, addr, roundName);
            return new Connection(client, new NetworkImageSink(sender, server, shadow));
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }
}
