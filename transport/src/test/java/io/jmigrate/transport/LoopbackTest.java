package io.jmigrate.transport;

import io.netty.handler.ssl.OpenSsl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pages over real TLS 1.3 on loopback, several streams, both TLS engines: what arrives is what was sent. */
class LoopbackTest {
    @TempDir
    Path tmp;

    static MemorySegment mixedPages(Arena arena, int pages, long seed) {
        MemorySegment m = arena.allocate((long) pages * 4096, 4096);
        Random r = new Random(seed);
        byte[] page = new byte[4096];
        for (int i = 0; i < pages; i++) {
            switch (i % 3) {
                case 0 -> { continue; }                         // zero page
                case 1 -> { for (int b = 0; b < 4096; b++) page[b] = (byte) ("the quick brown fox " .charAt((b + i) % 20)); }
                default -> r.nextBytes(page);
            }
            MemorySegment.copy(MemorySegment.ofArray(page), 0, m, (long) i * 4096, 4096);
        }
        return m;
    }

    @Test
    void boringSslLoadsHere() {
        assertTrue(OpenSsl.isAvailable(), () -> "netty-tcnative BoringSSL: " + OpenSsl.unavailabilityCause());
        assertTrue(Transport.epoll(), Transport.describe());
    }

    @ParameterizedTest
    @EnumSource(value = TlsSettings.Provider.class, names = {"OPENSSL", "JDK"})
    void pagesArriveIntactOverTlsOnSeveralStreams(TlsSettings.Provider provider) {
        TestPki pki = new TestPki(tmp);
        MemoryReceiver receiver = new MemoryReceiver();
        try (TransportServer server = TransportServer.start(new InetSocketAddress("127.0.0.1", 0),
                pki.server(provider).serverContext(), receiver);
             TransportClient client = TransportClient.tls(pki.client(provider), "client");
             Arena arena = Arena.ofConfined()) {
            MemorySegment mem = mixedPages(arena, 1000, 42);
            long vaddr = 0x7f0000000000L;
            try (RoundSender s = RoundSender.open(client, server.address(), "r1", 3, true)) {
                s.sendPages(77, vaddr, mem);
                s.sendFile("core-77.img", new byte[]{1, 2, 3});
                var committed = s.commit(new byte[0]);
                assertEquals("memory:r1", committed.getDirectory());
                assertTrue(s.holesSent() >= 333, "zero pages travel as holes: " + s.holesSent());
                assertTrue(s.wireBytes() < 1000L * 4096 / 2, "text pages compressed, zero pages free: " + s.wireBytes());
            }
            Map<Long, byte[]> got = receiver.committed.get("r1");
            assertNotNull(got);
            assertEquals(1000, got.size());
            for (int i = 0; i < 1000; i++)
                assertArrayEquals(mem.asSlice(i * 4096L, 4096).toArray(ValueLayout.JAVA_BYTE),
                        got.get(MemoryReceiver.key(77, vaddr + i * 4096L)), "page " + i);
            assertArrayEquals(new byte[]{1, 2, 3}, receiver.committedFiles.get("r1").get("core-77.img"));
            assertEquals(0, server.refusals().size(), () -> server.refusals().toString());

            // lazy pages: a range back from the committed round
            try (PageFetcher f = PageFetcher.open(client, server.address(), "r1")) {
                MemorySegment dst = arena.allocate(300 * 4096L);
                f.fetch(77, vaddr + 100 * 4096L, dst);
                assertEquals(-1, dst.mismatch(mem.asSlice(100 * 4096L, 300 * 4096L)));
            }
        }
    }
}
