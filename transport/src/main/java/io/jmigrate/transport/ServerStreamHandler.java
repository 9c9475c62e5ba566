package io.jmigrate.transport;

import io.jmigrate.transport.proto.Committed;
import io.jmigrate.transport.proto.Control;
import io.jmigrate.transport.proto.Failure;
import io.jmigrate.transport.proto.Flushed;
import io.jmigrate.transport.proto.Hello;
import io.jmigrate.transport.proto.PageReply;
import io.jmigrate.transport.proto.PageRequest;
import io.jmigrate.transport.proto.Purpose;
import io.jmigrate.transport.proto.Welcome;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * One accepted stream: waits for the TLS handshake and a Hello, then feeds a round's files and batches to its
 * {@link ServerSession}, or answers page requests. Any protocol error, corrupt batch or early close fails the
 * stream's round.
 */
final class ServerStreamHandler extends ChannelInboundHandlerAdapter {
    private enum State { HANDSHAKE, HELLO, ROUND, PAGES, CLOSED }

    private final TransportServer server;
    private State state;
    private String peer = "?";
    private ServerSession session;
    private int streamIndex;
    private long streamBatches, streamPages;
    private ServedPages served;
    private BatchEncoder replyEncoder;

    ServerStreamHandler(TransportServer server, boolean tls) {
        this.server = server;
        this.state = tls ? State.HANDSHAKE : State.HELLO;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().remoteAddress() instanceof InetSocketAddress a) peer = a.getHostString() + ":" + a.getPort();
        super.channelActive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent hs) {
            if (hs.isSuccess()) {
                if (state == State.HANDSHAKE) state = State.HELLO;
            } else {
                refuse(ctx, TlsErrors.explain(hs.cause(), "client", peer), false);
            }
            return;
        }
        if (evt instanceof IdleStateEvent) {
            // a round's sender that went silent (host gone without a FIN) must not hold the round open for ever;
            // an idle lazy-pages stream is simply waiting for the next fault
            if (state != State.PAGES)
                fail(ctx, "stream " + streamIndex + " from " + peer + " was silent for " + TransportServer.IDLE_SECONDS + " s");
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            switch (state) {
                case HELLO -> hello(ctx, msg);
                case ROUND -> round(ctx, msg);
                case PAGES -> pages(ctx, msg);
                default -> { /* handshake not done (cannot happen: TLS passes no data before it), or closed */ }
            }
        } catch (TransportException e) {
            fail(ctx, e.getMessage());
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void hello(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Control c) || c.getKindCase() != Control.KindCase.HELLO) {
            refuse(ctx, "refused " + peer + ": it did not start with a Hello", true);
            return;
        }
        Hello h = c.getHello();
        if (h.getProtocolVersion() != Wire.PROTOCOL_VERSION) {
            refuse(ctx, "refused " + peer + ": protocol version " + h.getProtocolVersion() + ", this server speaks "
                    + Wire.PROTOCOL_VERSION, true);
            return;
        }
        try {
            if (h.getPurpose() == Purpose.SEND_ROUND) {
                if (h.getStreamCount() < 1 || h.getStreamIndex() >= h.getStreamCount() || h.getSessionId().size() != 16)
                    throw new TransportException("bad stream numbering in Hello");
                session = server.sessions.computeIfAbsent(h.getSessionId(), id -> {
                    RoundSink sink = server.app().openRound(h.getRound(), peer + " (" + h.getSenderHost() + ")", h.getStreamCount());
                    server.app().log("receiving round " + h.getRound() + " from " + h.getSenderHost() + " at " + peer
                            + " over " + h.getStreamCount() + " streams");
                    return new ServerSession(server, id, h.getRound(), peer, h.getStreamCount(), sink);
                });
                if (session.ended()) throw new TransportException("round " + h.getRound() + " already ended");
                streamIndex = h.getStreamIndex();
                session.join(ctx.channel());
                state = State.ROUND;
            } else if (h.getPurpose() == Purpose.FETCH_PAGES) {
                served = server.app().openPages(h.getRound());
                replyEncoder = new BatchEncoder(true);
                state = State.PAGES;
            } else {
                throw new TransportException("unknown purpose " + h.getPurpose());
            }
        } catch (TransportException e) {
            refuse(ctx, "refused " + peer + ": " + e.getMessage(), true);
            return;
        }
        ctx.writeAndFlush(Control.newBuilder().setWelcome(Welcome.newBuilder()
                .setMaxBatchPages(Wire.MAX_BATCH_PAGES)).build());
    }

    private void round(ChannelHandlerContext ctx, Object msg) {
        if (session.ended()) return;
        if (msg instanceof PageBatch b) {
            session.sink.pages(b);
            streamBatches++;
            streamPages += b.pageCount();
            session.batches.incrementAndGet();
            session.pages.addAndGet(b.pageCount());
            return;
        }
        Control c = (Control) msg;
        switch (c.getKindCase()) {
            case FILE -> session.sink.file(c.getFile().getName(), c.getFile().getOffset(),
                    c.getFile().getContent().toByteArray(), c.getFile().getLast());
            case FLUSH -> ctx.writeAndFlush(Control.newBuilder().setFlushed(Flushed.newBuilder()
                    .setSequence(c.getFlush().getSequence()).setBatches(streamBatches).setPages(streamPages)).build());
            case COMMIT -> {
                if (streamIndex != 0) throw new TransportException("commit on stream " + streamIndex + ", not 0");
                String dir = session.commit(c.getCommit().getInventory().toByteArray(), c.getCommit().getTotalBatches(),
                        c.getCommit().getTotalPages());
                ctx.writeAndFlush(Control.newBuilder().setCommitted(Committed.newBuilder().setDirectory(dir)
                        .setBytesStored(session.sink.bytesStored())).build());
            }
            default -> throw new TransportException("unexpected " + c.getKindCase() + " while receiving a round");
        }
    }

    private void pages(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Control c) || c.getKindCase() != Control.KindCase.PAGE_REQUEST)
            throw new TransportException("only page requests are accepted on a page-fetch stream");
        PageRequest r = c.getPageRequest();
        if (r.getNrPages() < 1 || r.getNrPages() > 1 << 20)
            throw new TransportException("page request for " + r.getNrPages() + " pages");
        MemorySegment seg = served.pages(r.getPid(), r.getVaddr(), r.getNrPages());
        int perBatch = Wire.SEND_BATCH_PAGES;
        int batches = (r.getNrPages() + perBatch - 1) / perBatch;
        ctx.write(Control.newBuilder().setPageReply(PageReply.newBuilder().setRequestId(r.getRequestId())
                .setBatches(batches)).build());
        for (int i = 0; i < batches; i++) {
            int first = i * perBatch, n = Math.min(perBatch, r.getNrPages() - first);
            ctx.write(replyEncoder.encode(ctx.alloc(), r.getPid(), r.getVaddr() + (long) first * Wire.PAGE_SIZE,
                    seg.asSlice((long) first * Wire.PAGE_SIZE, (long) n * Wire.PAGE_SIZE)));
        }
        ctx.flush();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable t = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (state == State.HANDSHAKE || state == State.HELLO && t instanceof javax.net.ssl.SSLException) {
            refuse(ctx, TlsErrors.explain(t, "client", peer), false);
        } else if (t instanceof TransportException te) {
            fail(ctx, "stream " + streamIndex + " from " + peer + ": " + te.getMessage());
        } else {
            fail(ctx, "stream " + streamIndex + " from " + peer + ": " + TlsErrors.explain(t, "client", peer));
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (state == State.ROUND && session != null && !session.ended())
            session.fail("stream " + streamIndex + " from " + peer + " closed before the round was committed");
        if (served != null) {
            served.close();
            served = null;
        }
        state = State.CLOSED;
        super.channelInactive(ctx);
    }

    /** Refuses a stream before it joined any round. */
    private void refuse(ChannelHandlerContext ctx, String line, boolean tell) {
        if (state == State.CLOSED) return;
        state = State.CLOSED;
        server.refused(line);
        if (tell && ctx.channel().isActive()) {
            ctx.writeAndFlush(Control.newBuilder().setFailure(Failure.newBuilder().setMessage(line)).build())
                    .addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.close();
        }
    }

    /** Ends the stream after an error; its round, if any, is discarded. */
    private void fail(ChannelHandlerContext ctx, String reason) {
        if (state == State.CLOSED) return;
        State was = state;
        state = State.CLOSED;
        if (was == State.ROUND && session != null) {
            session.fail(reason);
        } else {
            server.refused("closed stream from " + peer + ": " + reason);
        }
        if (ctx.channel().isActive())
            ctx.writeAndFlush(Control.newBuilder().setFailure(Failure.newBuilder().setMessage(reason)).build())
                    .addListener(ChannelFutureListener.CLOSE);
    }
}
