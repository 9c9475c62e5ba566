package io.jmigrate.transport;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/** Native epoll where it loads, Java NIO otherwise: event loops and channel classes. */
public final class Transport {
    private Transport() {}

    /**
     * Pooled direct buffers for frames, TLS records and read cumulation. Netty 4.2's default (adaptive) allocator
     * does not pool buffers of a batch's size: each would be fresh memory, and on a VM that backs memory lazily the
     * first touch of a page is what costs.
     */
    public static final io.netty.buffer.ByteBufAllocator ALLOCATOR = io.netty.buffer.PooledByteBufAllocator.DEFAULT;

    /** Reads of up to 1 MiB: a batch arrives in a few reads, not in dozens of 64 KiB ones. */
    /**
     * Plaintext handed to the TLS engine per wrap: Netty's default (16 KiB, one record) makes a JNI call, an output
     * buffer and a socket write per record; 1 MiB lets one wrap cover several queued batches. Measured with
     * bench-transport (TLS + zero holes, 3 GiB): 8.1 CPU-s at 16 KiB, 7.0 at 256 KiB, 6.6 at 1 MiB.
     */
    static final int TLS_WRAP_BYTES = 1 << 20;

    /** {@code tls} with {@link #TLS_WRAP_BYTES}: every stream's TLS handler, client or server side. */
    static io.netty.handler.ssl.SslHandler wrappingLarge(io.netty.handler.ssl.SslHandler tls) {
        tls.setWrapDataSize(TLS_WRAP_BYTES);
        return tls;
    }

    static io.netty.channel.RecvByteBufAllocator receiveSizes() {
        return new io.netty.channel.AdaptiveRecvByteBufAllocator(4096, 64 * 1024, 1 << 20);
    }

    public static boolean epoll() {
        return Epoll.isAvailable();
    }

    /** "epoll" or "nio (reason)", for reports. */
    public static String describe() {
        return epoll() ? "epoll" : "nio (epoll unavailable: " + Epoll.unavailabilityCause() + ")";
    }

    /** Names of the event-loop threads: receiving side, sending side (the bench counts CPU by side). */
    static final String SERVER_THREADS = "jmigrate-recv", CLIENT_THREADS = "jmigrate-send-io";

    static EventLoopGroup newGroup(int threads, String threadName) {
        IoHandlerFactory f = epoll() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new io.netty.util.concurrent.DefaultThreadFactory(threadName, true), f);
    }

    static Class<? extends SocketChannel> socketChannel() {
        return epoll() ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    static Class<? extends ServerChannel> serverChannel() {
        return epoll() ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }
}
