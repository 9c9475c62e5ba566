package io.jmigrate.cli;

import io.jmigrate.transport.Compression;
import io.jmigrate.transport.RoundSender;
import io.jmigrate.transport.TransportClient;
import picocli.CommandLine.Option;

import java.net.InetSocketAddress;

/** How a round travels to a page server: parallel streams and LZ4 policy (send-images, dump/pre-dump --page-server). */
final class StreamOptions {
    @Option(names = "--streams", defaultValue = "2", description = "parallel TLS streams to the page server (default 2)")
    int streams;

    @Option(names = "--compress", paramLabel = "auto|always|never", defaultValue = "auto",
            converter = CompressionConverter.class,
            description = {"LZ4 per page batch: auto (default) measures raw and compressed periods and keeps"
                    + " the faster, so a slow link gets compressed pages and a fast one is not held back by LZ4;"
                    + " always tries every batch; never sends raw (zero pages are holes either way)"})
    Compression compression;

    @Option(names = "--no-compress", hidden = true, description = "same as --compress never")
    boolean noCompress;

    Compression policy() { return noCompress ? Compression.NEVER : compression; }

    /** Opens the round's streams. */
    RoundSender open(TransportClient client, InetSocketAddress server, String round) {
        return RoundSender.open(client, server, round, streams, policy());
    }
}
