package io.jmigrate.transport;

import com.google.protobuf.InvalidProtocolBufferException;
import io.jmigrate.transport.proto.Control;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageDecoder;

import java.util.List;

/** One frame to a {@link Control} message or a verified {@link PageBatch}. */
final class MessageDecoder extends MessageToMessageDecoder<ByteBuf> {
    private final BatchDecoder batches = new BatchDecoder();

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf frame, List<Object> out) {
        if (!frame.isReadable()) throw new TransportException("empty frame: protocol error");
        byte type = frame.readByte();
        switch (type) {
            case Wire.TYPE_CONTROL -> {
                try {
                    out.add(Control.parseFrom(frame.nioBuffer()));
                } catch (InvalidProtocolBufferException e) {
                    throw new TransportException("malformed control frame: " + e.getMessage());
                }
            }
            case Wire.TYPE_BATCH -> out.add(batches.decode(frame, ctx.alloc()));
            default -> throw new TransportException("unknown frame type " + type + ": not a jmigrate peer, or a newer one");
        }
    }
}
