package io.jmigrate.transport;

import com.google.protobuf.ByteString;
import io.jmigrate.transport.proto.Control;
import io.jmigrate.transport.proto.Hello;
import io.jmigrate.transport.proto.Purpose;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The frame codec on an EmbeddedChannel: batches and control frames survive any split, damage is caught. */
class CodecTest {
    private static EmbeddedChannel decoder() {
        return new EmbeddedChannel(new FrameDecoder(), new MessageDecoder());
    }

    private static MemorySegment pages(Arena arena, int n, long seed) {
        return LoopbackTest.mixedPages(arena, n, seed);
    }

    @Test
    void aBatchSplitIntoSmallPiecesDecodesToTheSamePages() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = pages(arena, 128, 1);
            ByteBuf frame = new BatchEncoder(true).encode(ByteBufAllocator.DEFAULT, 9, 0x400000, mem);
            EmbeddedChannel ch = decoder();
            while (frame.isReadable()) ch.writeInbound(frame.readRetainedSlice(Math.min(1000, frame.readableBytes())));
            frame.release();
            PageBatch b = ch.readInbound();
            try {
                assertEquals(9, b.pid());
                assertEquals(0x400000, b.vaddr());
                assertEquals(128, b.pageCount());
                assertEquals(43, b.holeCount(), "every third page is zero");
                MemorySegment out = arena.allocate(mem.byteSize());
                out.fill((byte) 0x55);
                PageFetcher.copyInto(b, out, 0);
                assertEquals(-1, out.mismatch(mem));
            } finally {
                b.release();
            }
            assertNull(ch.readInbound());
            assertFalse(ch.finish());
        }
    }

    @Test
    void randomPagesGoRawTextPagesGoLz4() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment random = arena.allocate(64 * 4096L);
            byte[] r = new byte[(int) random.byteSize()];
            new Random(3).nextBytes(r);
            MemorySegment.copy(MemorySegment.ofArray(r), 0, random, 0, r.length);
            BatchEncoder enc = new BatchEncoder(true);
            ByteBuf raw = enc.encode(ByteBufAllocator.DEFAULT, 1, 0, random);
            assertEquals(0, raw.getShort(5 + 14), "incompressible batch goes raw");
            assertEquals(5 + Wire.BATCH_HEADER_BYTES + 8 + 64 * 4096, raw.readableBytes());
            raw.release();

            MemorySegment text = arena.allocate(64 * 4096L);
            for (long i = 0; i < text.byteSize(); i++) text.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) ("abcdefgh".charAt((int) (i % 8))));
            BatchEncoder fresh = new BatchEncoder(true);
            ByteBuf lz4 = fresh.encode(ByteBufAllocator.DEFAULT, 1, 0, text);
            assertEquals(Wire.FLAG_LZ4, lz4.getShort(5 + 14));
            assertTrue(lz4.readableBytes() < 64 * 4096 / 10, "text compresses: " + lz4.readableBytes());
            EmbeddedChannel ch = decoder();
            ch.writeInbound(lz4);
            PageBatch b = ch.readInbound();
            MemorySegment out = arena.allocate(text.byteSize());
            PageFetcher.copyInto(b, out, 0);
            b.release();
            assertEquals(-1, out.mismatch(text));
        }
    }

    @Test
    void aFlippedBitInAnyPartOfABatchFailsTheChecksum() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = pages(arena, 32, 5);
            for (boolean compress : new boolean[]{false, true}) {
                ByteBuf good = new BatchEncoder(compress).encode(ByteBufAllocator.DEFAULT, 1, 0x1000, mem);
                // pid, vaddr, count, bitmap and a body byte in the middle: each is covered
                for (int at : new int[]{5, 5 + 6, 5 + 13, 5 + Wire.BATCH_HEADER_BYTES, good.readableBytes() - 2000}) {
                    ByteBuf bad = good.copy();
                    bad.setByte(at, bad.getByte(at) ^ 0x10);
                    EmbeddedChannel ch = decoder();
                    DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(bad));
                    assertInstanceOf(CorruptBatchException.class, e.getCause(), "offset " + at + " compress " + compress);
                    assertNull(ch.readInbound());
                }
                good.release();
            }
        }
    }

    @Test
    void controlFramesRoundTripAndOversizeFramesAreRefused() {
        EmbeddedChannel out = new EmbeddedChannel(ControlEncoder.INSTANCE);
        Control hello = Control.newBuilder().setHello(Hello.newBuilder().setProtocolVersion(1)
                .setPurpose(Purpose.SEND_ROUND).setSessionId(ByteString.copyFrom(new byte[16])).setRound("r")).build();
        out.writeOutbound(hello);
        ByteBuf encoded = out.readOutbound();
        EmbeddedChannel in = decoder();
        in.writeInbound(encoded);
        assertEquals(hello, in.readInbound());

        ByteBuf huge = Unpooled.buffer().writeInt(Wire.MAX_FRAME_BYTES + 1).writeByte(Wire.TYPE_BATCH);
        EmbeddedChannel ch = decoder();
        assertThrows(TooLongFrameException.class, () -> ch.writeInbound(huge));
    }

    @Test
    void aStreamMustStartWithHelloAndAnswersItWithWelcome() {
        MemoryReceiver receiver = new MemoryReceiver();
        try (TransportServer server = TransportServer.startPlaintext(new java.net.InetSocketAddress("127.0.0.1", 0), receiver)) {
            EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(), new MessageDecoder(), ControlEncoder.INSTANCE,
                    new ServerStreamHandler(server, false));
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[]{0, 0, 0, 1, Wire.TYPE_CONTROL}));   // an empty Control
            assertFalse(ch.isActive(), "closed: no Hello first");
            assertTrue(server.refusals().getFirst().contains("did not start with a Hello"), server.refusals().toString());

            EmbeddedChannel ok = new EmbeddedChannel(new FrameDecoder(), new MessageDecoder(), ControlEncoder.INSTANCE,
                    new ServerStreamHandler(server, false));
            EmbeddedChannel enc = new EmbeddedChannel(ControlEncoder.INSTANCE);
            enc.writeOutbound(Control.newBuilder().setHello(Hello.newBuilder().setProtocolVersion(Wire.PROTOCOL_VERSION)
                    .setPurpose(Purpose.SEND_ROUND).setSessionId(ByteString.copyFrom(new byte[16])).setStreamCount(1)
                    .setRound("r")).build());
            ok.writeInbound((ByteBuf) enc.readOutbound());
            ByteBuf welcome = ok.readOutbound();
            EmbeddedChannel dec = decoder();
            dec.writeInbound(welcome);
            Control c = dec.readInbound();
            assertEquals(Control.KindCase.WELCOME, c.getKindCase());
            ok.close();
            assertEquals(1, receiver.aborted.size(), "a stream closed before its commit discards the round");
        }
    }
}
