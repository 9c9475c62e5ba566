package io.jmigrate.transport;

import io.jmigrate.transport.proto.Control;
import io.jmigrate.transport.proto.Welcome;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One connected, welcomed stream, used from one sending thread. Back-pressure: a frame is written only once the
 * bytes this stream has handed to Netty and not yet written to the socket, plus the frame, fit in the in-flight
 * limit; the sender waits otherwise, so a slow receiver (TCP window closed) stops the sender instead of piling up
 * buffers in its heap.
 */
final class ClientStream implements AutoCloseable {
    private static final Object CLOSED = new Object();

    private final Channel ch;
    private final Inbound inbound;
    private final Semaphore window;
    private final int limit;
    private final String peer;
    private final AtomicLong inFlight = new AtomicLong();
    private final AtomicLong maxInFlight = new AtomicLong();
    /** Frames written but not flushed yet (the sending thread's). */
    private long unflushed;
    /** Flush at least every this many bytes: the TLS wrap size, so a wrap is never starved. */
    private static final long FLUSH_BYTES = Transport.TLS_WRAP_BYTES;
    private Welcome welcome;

    ClientStream(Channel ch, Inbound inbound, int limit, String peer) {
        this.ch = ch;
        this.inbound = inbound;
        this.limit = limit;
        this.window = new Semaphore(limit);
        this.peer = peer;
    }

    void welcome(Welcome w) { this.welcome = w; }
    Welcome welcome() { return welcome; }
    String peer() { return peer; }

    /** Writes a frame and flushes it; see {@link #sendFrame(ByteBuf, boolean)}. */
    void sendFrame(ByteBuf frame) {
        sendFrame(frame, false);
    }

    /**
     * Writes a frame, waiting while the stream has too much in flight. Takes ownership of {@code frame}. With
     * {@code more} (another frame follows at once) the flush waits for a later frame, up to {@link #FLUSH_BYTES}
     * written, or until the window is full. Called by one thread per stream (its sender's).
     */
    void sendFrame(ByteBuf frame, boolean more) {
        int size = Math.min(frame.readableBytes(), limit);
        try {
            if (!window.tryAcquire(size)) {
                flushWritten();                     // only what is flushed ever gives its room back
                while (!window.tryAcquire(size, 200, TimeUnit.MILLISECONDS)) {
                    if (!ch.isActive()) {
                        frame.release();
                        throw broken();
                    }
                }
            }
        } catch (InterruptedException e) {
            frame.release();
            Thread.currentThread().interrupt();
            throw new TransportException("interrupted while sending to " + peer);
        }
        if (!ch.isActive()) {
            window.release(size);
            frame.release();
            throw broken();
        }
        long now = inFlight.addAndGet(size);
        maxInFlight.accumulateAndGet(now, Math::max);
        ch.write(frame).addListener((ChannelFutureListener) f -> {
            inFlight.addAndGet(-size);
            window.release(size);
        });
        unflushed += size;
        if (!more || unflushed >= FLUSH_BYTES) flushWritten();
    }

    /** Flushes frames written by {@link #sendFrame(ByteBuf, boolean)} and not flushed yet. */
    void flushWritten() {
        if (unflushed == 0) return;
        unflushed = 0;
        ch.flush();
    }

    void sendControl(Control c) {
        if (!ch.isActive()) throw broken();
        int size = Math.min(c.getSerializedSize() + 5, limit);
        try {
            window.acquire(size);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException("interrupted while sending to " + peer);
        }
        long now = inFlight.addAndGet(size);
        maxInFlight.accumulateAndGet(now, Math::max);
        ch.writeAndFlush(c).addListener((ChannelFutureListener) f -> {
            inFlight.addAndGet(-size);
            window.release(size);
        });
    }

    /** Bytes handed to Netty and not yet written to the socket. */
    long inFlight() { return inFlight.get(); }
    /** The most that was ever in flight on this stream. */
    long maxInFlight() { return maxInFlight.get(); }

    /** The next control message, which must be of {@code kind}; a Failure or a closed stream throws. */
    Control awaitControl(Control.KindCase kind, Duration timeout) {
        Object msg = next(timeout, kind.name().toLowerCase());
        if (msg instanceof Control c) {
            if (c.getKindCase() == kind) return c;
            if (c.getKindCase() == Control.KindCase.FAILURE)
                throw new TransportException(peer + ": " + c.getFailure().getMessage());
            throw new TransportException(peer + " sent " + c.getKindCase() + " where " + kind + " was expected: protocol error");
        }
        ReferenceCountUtil.release(msg);
        throw new TransportException(peer + " sent page data where " + kind + " was expected: protocol error");
    }

    /** The next page batch (the caller releases it). */
    PageBatch awaitBatch(Duration timeout) {
        Object msg = next(timeout, "page batch");
        if (msg instanceof PageBatch b) return b;
        Control c = (Control) msg;
        if (c.getKindCase() == Control.KindCase.FAILURE) throw new TransportException(peer + ": " + c.getFailure().getMessage());
        throw new TransportException(peer + " sent " + c.getKindCase() + " where a page batch was expected: protocol error");
    }

    private Object next(Duration timeout, String what) {
        Object msg;
        try {
            msg = inbound.queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException("interrupted while waiting for " + what + " from " + peer);
        }
        if (msg == null) throw new TransportException("no " + what + " from " + peer + " within " + timeout.toSeconds() + " s");
        if (msg == CLOSED) {
            inbound.queue.add(CLOSED);   // every later wait fails the same way
            throw broken();
        }
        return msg;
    }

    private TransportException broken() {
        String why = inbound.failure;
        return new TransportException(why != null ? why : peer + " closed the connection");
    }

    @Override
    public void close() {
        ch.close().syncUninterruptibly();
        Object m;
        while ((m = inbound.queue.poll()) != null) ReferenceCountUtil.release(m);
    }

    /** Queues what the receiver sends; records why the stream broke. */
    static final class Inbound extends ChannelInboundHandlerAdapter {
        final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
        final String peer;
        volatile String failure;

        Inbound(String peer) { this.peer = peer; }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            queue.add(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (failure == null) failure = TlsErrors.explain(cause, "page server", peer);
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            queue.add(CLOSED);
        }
    }
}
