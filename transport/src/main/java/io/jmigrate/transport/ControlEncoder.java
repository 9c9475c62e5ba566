package io.jmigrate.transport;

import io.jmigrate.transport.proto.Control;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

import java.io.IOException;

/** A {@link Control} message as a control frame. Batch frames are encoded by {@link BatchEncoder} and pass as is. */
@ChannelHandler.Sharable
final class ControlEncoder extends MessageToByteEncoder<Control> {
    static final ControlEncoder INSTANCE = new ControlEncoder();

    @Override
    protected void encode(ChannelHandlerContext ctx, Control msg, ByteBuf out) throws IOException {
        int size = msg.getSerializedSize();
        out.ensureWritable(5 + size);
        out.writeInt(size + 1).writeByte(Wire.TYPE_CONTROL);
        msg.writeTo(new ByteBufOutputStream(out));
    }
}
