package io.jmigrate.transport;

import com.google.protobuf.ByteString;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Accepts streams (TLS 1.3, client certificate required) and hands their rounds and page requests to a
 * {@link ReceiverApp}. A stream that fails the handshake, or speaks plaintext, is closed before any of its bytes
 * is read as data. A round whose stream breaks before its commit is aborted.
 */
public final class TransportServer implements AutoCloseable {
    /** A stream silent this long (a sender host that vanished without a FIN) is dropped, aborting its round. */
    static final int IDLE_SECONDS = 120;

    private final EventLoopGroup boss = Transport.newGroup(1, Transport.SERVER_THREADS);
    private final EventLoopGroup workers;
    private final SslContext ssl;
    private final ReceiverApp app;
    private final Channel listener;
    final Map<ByteString, ServerSession> sessions = new ConcurrentHashMap<>();
    private final List<String> refusals = new CopyOnWriteArrayList<>();
    final AtomicLong roundsCommitted = new AtomicLong();
    final AtomicLong roundsAborted = new AtomicLong();

    private TransportServer(InetSocketAddress bind, SslContext ssl, ReceiverApp app, int ioThreads) {
        this.ssl = ssl;
        this.app = app;
        this.workers = Transport.newGroup(ioThreads, Transport.SERVER_THREADS);
        try {
            this.listener = new ServerBootstrap().group(boss, workers).channel(Transport.serverChannel())
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
                    .childOption(ChannelOption.RCVBUF_ALLOCATOR, Transport.receiveSizes())
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            if (ssl != null) ch.pipeline().addLast("tls", Transport.wrappingLarge(ssl.newHandler(ch.alloc())));   // page replies
                            ch.pipeline().addLast("idle", new IdleStateHandler(IDLE_SECONDS, 0, 0))
                                    .addLast("frames", new FrameDecoder())
                                    .addLast("messages", new MessageDecoder())
                                    .addLast("control", ControlEncoder.INSTANCE)
                                    .addLast("stream", new ServerStreamHandler(TransportServer.this, ssl != null));
                        }
                    })
                    .bind(bind).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new TransportException("cannot listen on " + bind.getHostString() + ":" + bind.getPort() + ": "
                    + e.getMessage(), e);
        }
    }

    /** Listens on {@code bind} with TLS ({@code ssl} from {@link TlsSettings#serverContext()}). */
    public static TransportServer start(InetSocketAddress bind, SslContext ssl, ReceiverApp app) {
        return new TransportServer(bind, ssl, app, 2);
    }

    /** Plaintext: for benchmarks only (raw TCP baseline); never exposed on the command line. */
    public static TransportServer startPlaintext(InetSocketAddress bind, ReceiverApp app) {
        return new TransportServer(bind, null, app, 2);
    }

    public InetSocketAddress address() { return (InetSocketAddress) listener.localAddress(); }

    /** One line per refused stream (bad certificate, plaintext, bad hello, corrupt batch...), oldest first. */
    public List<String> refusals() { return List.copyOf(refusals); }

    public long roundsCommitted() { return roundsCommitted.get(); }
    public long roundsAborted() { return roundsAborted.get(); }

    ReceiverApp app() { return app; }

    void refused(String line) {
        refusals.add(line);
        app.log(line);
    }

    @Override
    public void close() {
        // bounded waits: a page server stopped by SIGTERM (shutdown hook) once hung here for good waiting for the
        // listener's close, with its event loop idle in epoll_wait
        listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        for (ServerSession s : sessions.values()) s.fail("the page server is shutting down");
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
