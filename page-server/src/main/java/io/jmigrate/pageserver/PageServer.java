package io.jmigrate.pageserver;

import io.jmigrate.transport.ReceiverApp;
import io.jmigrate.transport.RoundSink;
import io.jmigrate.transport.ServedPages;
import io.jmigrate.transport.TransportException;
import io.jmigrate.transport.TransportServer;
import io.netty.handler.ssl.SslContext;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The page server: receives rounds (pre-dump rounds and the final dump) into image directories under its root,
 * {@code ROOT/ROUND}, and serves page ranges of committed rounds for lazy pages. A round lives in a hidden
 * temporary directory until its sender commits it; a sender that vanishes or sends corrupt data leaves nothing
 * under the round's name. For a restore that follows at once, put the root on tmpfs (/dev/shm): the images then
 * stay in memory.
 */
public final class PageServer implements ReceiverApp, AutoCloseable {
    private static final Pattern ROUND_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path root;

    static boolean isRoundName(String s) { return ROUND_NAME.matcher(s).matches(); }
    private final Consumer<String> log;
    private final Map<String, RoundWriter> active = new ConcurrentHashMap<>();
    private TransportServer server;

    private PageServer(Path root, Consumer<String> log) {
        this.root = root;
        this.log = log;
    }

    /** Starts listening on {@code bind} with TLS ({@code ssl} null: plaintext, for tests and benchmarks only). */
    public static PageServer start(InetSocketAddress bind, SslContext ssl, Path root, Consumer<String> log) {
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new TransportException("cannot create " + root + ": " + e.getMessage(), e);
        }
        removeLeftovers(root, log);
        PageServer ps = new PageServer(root, log);
        ps.server = ssl == null ? TransportServer.startPlaintext(bind, ps) : TransportServer.start(bind, ssl, ps);
        return ps;
    }

    /** Partial rounds of an earlier page server that died are deleted at start: they can never be committed. */
    private static void removeLeftovers(Path root, Consumer<String> log) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, ".*.{partial,old}-*")) {
            for (Path p : ds) {
                RoundWriter.deleteTree(p);
                log.accept("removed leftover " + p);
            }
        } catch (IOException e) {
            throw new TransportException("cannot list " + root + ": " + e.getMessage(), e);
        }
    }

    public InetSocketAddress address() { return server.address(); }
    public Path root() { return root; }
    public TransportServer transport() { return server; }

    /** Bytes received so far by the rounds being received now. */
    public long bytesInProgress() {
        long n = 0;
        for (RoundWriter w : active.values()) n += w.bytesStored();
        return n;
    }

    public int roundsInProgress() { return active.size(); }

    @Override
    public RoundSink openRound(String round, String peer, int streamCount) {
        if (!ROUND_NAME.matcher(round).matches())
            throw new TransportException("bad round name '" + round + "' (letters, digits, '.', '_' and '-')");
        RoundWriter w = new RoundWriter(root, round);
        if (active.putIfAbsent(round, w) != null) {
            w.abort("duplicate");
            throw new TransportException("round " + round + " is already being received");
        }
        return new RoundSink() {
            public void file(String name, long offset, byte[] content, boolean last) { w.file(name, offset, content, last); }
            public void pages(io.jmigrate.transport.PageBatch batch) { w.pages(batch); }
            public long bytesStored() { return w.bytesStored(); }

            public String commit(byte[] inventory) {
                try {
                    return w.commit(inventory);
                } finally {
                    active.remove(round, w);
                }
            }

            public void abort(String reason) {
                try {
                    w.abort(reason);
                } finally {
                    active.remove(round, w);
                }
            }
        };
    }

    @Override
    public ServedPages openPages(String round) {
        if (!ROUND_NAME.matcher(round).matches()) throw new TransportException("bad round name '" + round + "'");
        Path dir = root.resolve(round);
        if (!Files.isDirectory(dir)) throw new TransportException("no committed round " + round + " in " + root);
        return new RoundPages(dir);
    }

    @Override
    public void log(String line) {
        log.accept(line);
    }

    @Override
    public void close() {
        server.close();
    }
}
