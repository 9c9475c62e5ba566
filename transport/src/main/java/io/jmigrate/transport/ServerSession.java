package io.jmigrate.transport;

import com.google.protobuf.ByteString;
import io.jmigrate.transport.proto.Control;
import io.jmigrate.transport.proto.Failure;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/** The receiving end of one round: its streams, what they delivered, and how the round ended. */
final class ServerSession {
    private final TransportServer server;
    private final ByteString id;
    final String round;
    final String peer;
    final int streamCount;
    final RoundSink sink;
    private final List<Channel> channels = new CopyOnWriteArrayList<>();
    final AtomicLong batches = new AtomicLong();
    final AtomicLong pages = new AtomicLong();
    private boolean ended;   // guarded by this

    ServerSession(TransportServer server, ByteString id, String round, String peer, int streamCount, RoundSink sink) {
        this.server = server;
        this.id = id;
        this.round = round;
        this.peer = peer;
        this.streamCount = streamCount;
        this.sink = sink;
    }

    void join(Channel ch) { channels.add(ch); }

    synchronized boolean ended() { return ended; }

    /** Commits the round if every batch the sender counted arrived; returns the directory. */
    String commit(byte[] inventory, long totalBatches, long totalPages) {
        synchronized (this) {
            if (ended) throw new TransportException("round " + round + " already ended");
            if (batches.get() != totalBatches || pages.get() != totalPages)
                throw new TransportException("round " + round + ": received " + batches.get() + " batches (" + pages.get()
                        + " pages), the sender counted " + totalBatches + " (" + totalPages + ")");
            ended = true;
        }
        try {
            String dir = sink.commit(inventory);
            server.roundsCommitted.incrementAndGet();
            server.app().log("committed round " + round + " from " + peer + " into " + dir + " (" + pages.get() + " pages)");
            return dir;
        } catch (RuntimeException e) {
            sink.abort("commit failed: " + e.getMessage());
            server.roundsAborted.incrementAndGet();
            throw e;
        } finally {
            server.sessions.remove(id, this);
        }
    }

    /** Aborts the round (once) and closes its other streams, telling the sender why. */
    void fail(String reason) {
        synchronized (this) {
            if (ended) return;
            ended = true;
        }
        server.sessions.remove(id, this);
        try {
            sink.abort(reason);
        } finally {
            server.app().log("discarded round " + round + " from " + peer + ": " + reason);
            server.roundsAborted.incrementAndGet();   // last: whoever sees the count sees the round gone
            Control failure = Control.newBuilder().setFailure(Failure.newBuilder().setMessage("round " + round
                    + " discarded: " + reason)).build();
            for (Channel ch : channels)
                if (ch.isActive()) ch.writeAndFlush(failure).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
