package io.jmigrate.transport;

import io.jmigrate.transport.proto.Control;
import io.jmigrate.transport.proto.Hello;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Opens streams to a receiver: TCP (epoll where available), TLS 1.3 with our certificate, the frame codec, then the
 * Hello/Welcome exchange. Nothing but Hello is sent before the receiver has accepted our certificate and answered
 * Welcome. One client serves many streams; close it when done.
 */
public final class TransportClient implements AutoCloseable {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    static final Duration WELCOME_TIMEOUT = Duration.ofSeconds(30);

    private final EventLoopGroup group;
    private final SslContext ssl;          // null: plaintext (benchmarks and tests only)
    private final int inFlightLimit;
    private final String localHost;

    private TransportClient(SslContext ssl, int ioThreads, int inFlightLimit, String localHost) {
        this.ssl = ssl;
        this.group = Transport.newGroup(ioThreads, Transport.CLIENT_THREADS);
        this.inFlightLimit = inFlightLimit;
        this.localHost = localHost;
    }

    /** A client that authenticates with {@code tls}. */
    public static TransportClient tls(TlsSettings tls, String localHost) {
        return new TransportClient(tls.clientContext(), 2, Wire.DEFAULT_IN_FLIGHT_BYTES, localHost);
    }

    /** A client with explicit settings; {@code ssl} null means plaintext, which receivers with TLS refuse. */
    public static TransportClient create(SslContext ssl, int ioThreads, int inFlightLimit, String localHost) {
        return new TransportClient(ssl, ioThreads, inFlightLimit, localHost);
    }

    public boolean tls() { return ssl != null; }

    String localHost() { return localHost; }

    /** Bytes one stream may have queued for its socket before its sender waits. */
    int inFlightLimit() { return inFlightLimit; }

    /** Connects one stream and completes the Hello/Welcome exchange. */
    ClientStream connect(InetSocketAddress addr, Hello hello) {
        String peer = addr.getHostString() + ":" + addr.getPort();
        ClientStream.Inbound inbound = new ClientStream.Inbound(peer);
        Bootstrap b = new Bootstrap().group(group).channel(Transport.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT.toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
                .option(ChannelOption.RCVBUF_ALLOCATOR, Transport.receiveSizes())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (ssl != null)
                            ch.pipeline().addLast("tls", Transport.wrappingLarge(ssl.newHandler(ch.alloc(), addr.getHostString(), addr.getPort())));
                        ch.pipeline().addLast("frames", new FrameDecoder())
                                .addLast("messages", new MessageDecoder())
                                .addLast("control", ControlEncoder.INSTANCE)
                                .addLast("inbound", inbound);
                    }
                });
        ChannelFuture f = b.connect(addr);
        if (!f.awaitUninterruptibly(CONNECT_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS) || !f.isSuccess()) {
            f.channel().close();
            Throwable c = f.cause();
            throw new TransportException("cannot connect to " + peer + ": "
                    + (c == null ? "timed out" : c.getMessage() == null ? c.toString() : c.getMessage()), c);
        }
        Channel ch = f.channel();
        if (ssl != null) {
            var hs = ch.pipeline().get(SslHandler.class).handshakeFuture();
            if (!hs.awaitUninterruptibly(WELCOME_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS) || !hs.isSuccess()) {
                ch.close();
                throw new TransportException(hs.cause() == null ? "TLS handshake with " + peer + " timed out"
                        : TlsErrors.explain(hs.cause(), "page server", peer), hs.cause());
            }
        }
        ClientStream stream = new ClientStream(ch, inbound, inFlightLimit, peer);
        try {
            stream.sendControl(Control.newBuilder().setHello(hello).build());
            Control welcome = stream.awaitControl(Control.KindCase.WELCOME, WELCOME_TIMEOUT);
            stream.welcome(welcome.getWelcome());
            return stream;
        } catch (RuntimeException e) {
            stream.close();
            throw e;
        }
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
