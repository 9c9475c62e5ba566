package io.jmigrate.transport;

import com.google.protobuf.ByteString;
import io.jmigrate.transport.proto.Control;
import io.jmigrate.transport.proto.Hello;
import io.jmigrate.transport.proto.Purpose;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Everything a receiver must refuse, over real TLS on loopback: each refusal happens before a byte of memory is
 * accepted (no round is opened, or the round opened is discarded), and each names its cause in one line.
 */
class RefusalTest {
    @TempDir
    Path tmp;

    private TestPki pki;
    private MemoryReceiver receiver;
    private TransportServer server;

    @BeforeEach
    void startServer() {
        pki = new TestPki(tmp.resolve("pki"));
        receiver = new MemoryReceiver();
        server = TransportServer.start(new InetSocketAddress("127.0.0.1", 0),
                pki.server(TlsSettings.Provider.AUTO).serverContext(), receiver);
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    private static Hello hello(int index, int count, byte[] session) {
        return Hello.newBuilder().setProtocolVersion(Wire.PROTOCOL_VERSION).setPurpose(Purpose.SEND_ROUND)
                .setSessionId(ByteString.copyFrom(session)).setStreamIndex(index).setStreamCount(count).setRound("r")
                .setSenderHost("test").build();
    }

    private String tryRound(TransportClient client) {
        TransportException e = assertThrows(TransportException.class, () -> {
            try (RoundSender s = RoundSender.open(client, server.address(), "r", 1, true)) {
                try (Arena arena = Arena.ofConfined()) {
                    s.sendPages(1, 0x10000, LoopbackTest.mixedPages(arena, 8, 1));
                }
                s.commit(new byte[0]);
            }
        });
        return e.getMessage();
    }

    private void assertNoRoundOpened() {
        assertTrue(receiver.logLines.stream().noneMatch(l -> l.startsWith("receiving round")), receiver.logLines::toString);
        assertEquals(0, receiver.pagesReceived.get());
    }

    private String awaitRefusal() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.refusals().isEmpty() && System.nanoTime() < deadline) Thread.onSpinWait();
        assertTrue(!server.refusals().isEmpty(), "the server recorded no refusal");
        return server.refusals().getFirst();
    }

    private SslContext clientContext(Path cert, Path key, Path trust) throws Exception {
        SslContextBuilder b = SslContextBuilder.forClient().trustManager(trust.toFile()).protocols("TLSv1.3")
                .sslProvider(SslProvider.JDK);
        if (cert != null) b.keyManager(cert.toFile(), key.toFile());
        return b.build();
    }

    @Test
    void theHappyPathWorksWithTheseCertificates() {
        try (TransportClient client = TransportClient.tls(pki.client(TlsSettings.Provider.AUTO), "client");
             RoundSender s = RoundSender.open(client, server.address(), "r", 1, true);
             Arena arena = Arena.ofConfined()) {
            s.sendPages(1, 0x10000, LoopbackTest.mixedPages(arena, 8, 1));
            s.commit(new byte[0]);
        }
        assertEquals(List.of(), server.refusals());
    }

    @Test
    void aClientWithoutACertificateIsRefused() throws Exception {
        try (TransportClient client = TransportClient.create(clientContext(null, null, Certificates.caCert(pki.dir)), 1,
                Wire.DEFAULT_IN_FLIGHT_BYTES, "anonymous")) {
            String msg = tryRound(client);
            assertTrue(msg.contains("refused") || msg.contains("closed"), msg);
        }
        String refusal = awaitRefusal();
        assertTrue(refusal.contains("it sent no certificate"), refusal);
        assertNoRoundOpened();
    }

    @Test
    void aCertificateFromAnotherCaIsRefused() throws Exception {
        TestPki other = new TestPki(tmp.resolve("other-pki"));
        Certificates.HostFiles f = Certificates.hostFiles(other.dir, "client");
        try (TransportClient client = TransportClient.create(clientContext(f.cert(), f.key(), Certificates.caCert(pki.dir)), 1,
                Wire.DEFAULT_IN_FLIGHT_BYTES, "intruder")) {
            String msg = tryRound(client);
            assertTrue(msg.contains("refused our certificate") || msg.contains("closed"), msg);
        }
        String refusal = awaitRefusal();
        assertTrue(refusal.contains("not signed by our cluster CA"), refusal);
        assertNoRoundOpened();
        // and the local check names the problem before any connection is made
        TransportException local = assertThrows(TransportException.class,
                () -> new TlsSettings(Certificates.caCert(pki.dir), f.cert(), f.key(), TlsSettings.Provider.JDK).clientContext());
        assertTrue(local.getMessage().contains("was not signed by the CA in"), local.getMessage());
    }

    @Test
    void anExpiredCertificateIsRefused() throws Exception {
        Instant now = Instant.now();
        Certificates.HostFiles f = Certificates.issue(pki.dir, "stale", List.of(), now.minus(Duration.ofDays(10)),
                now.minus(Duration.ofDays(1)));
        try (TransportClient client = TransportClient.create(clientContext(f.cert(), f.key(), Certificates.caCert(pki.dir)), 1,
                Wire.DEFAULT_IN_FLIGHT_BYTES, "stale")) {
            tryRound(client);
        }
        String refusal = awaitRefusal();
        assertTrue(refusal.contains("expired"), refusal);
        assertNoRoundOpened();
        TransportException local = assertThrows(TransportException.class,
                () -> TlsSettings.fromDirectory(pki.dir, "stale", TlsSettings.Provider.AUTO).clientContext());
        assertTrue(local.getMessage().matches("certificate .*stale.crt expired on .*"), local.getMessage());
    }

    @Test
    void aServerCertificateForAnotherHostIsRefusedByTheClient() {
        // "client"'s certificate names only "client"; a server presenting it at 127.0.0.1 is not who we dialled
        MemoryReceiver r2 = new MemoryReceiver();
        try (TransportServer impostor = TransportServer.start(new InetSocketAddress("127.0.0.1", 0),
                pki.client(TlsSettings.Provider.AUTO).serverContext(), r2);
             TransportClient client = TransportClient.tls(pki.client(TlsSettings.Provider.AUTO), "client")) {
            TransportException e = assertThrows(TransportException.class,
                    () -> RoundSender.open(client, impostor.address(), "r", 1, true).close());
            assertTrue(e.getMessage().contains("certificate is for another host"), e.getMessage());
        }
    }

    @Test
    void aPlaintextClientIsRefused() {
        try (TransportClient client = TransportClient.create(null, 1, Wire.DEFAULT_IN_FLIGHT_BYTES, "plain")) {
            String msg = tryRound(client);
            assertTrue(msg.contains("closed") || msg.contains("no welcome"), msg);
        }
        String refusal = awaitRefusal();
        assertTrue(refusal.contains("plaintext"), refusal);
        assertNoRoundOpened();
    }

    @Test
    void aCorruptedBatchDiscardsTheRound() throws Exception {
        try (TransportClient client = TransportClient.tls(pki.client(TlsSettings.Provider.AUTO), "client");
             Arena arena = Arena.ofConfined()) {
            ClientStream s = client.connect(server.address(), hello(0, 1, new byte[16]));
            MemorySegment mem = LoopbackTest.mixedPages(arena, 64, 9);
            BatchEncoder enc = new BatchEncoder(true);
            s.sendFrame(enc.encode(ByteBufAllocator.DEFAULT, 1, 0x10000, mem.asSlice(0, 32 * 4096)));
            ByteBuf bad = enc.encode(ByteBufAllocator.DEFAULT, 1, 0x30000, mem.asSlice(32 * 4096));
            bad.setByte(bad.writerIndex() - 100, bad.getByte(bad.writerIndex() - 100) ^ 1);
            s.sendFrame(bad);
            TransportException e = assertThrows(TransportException.class,
                    () -> s.awaitControl(Control.KindCase.FLUSHED, Duration.ofSeconds(10)));
            assertTrue(e.getMessage().contains("failed its checksum"), e.getMessage());
            s.close();
        }
        assertTrue(receiver.anyAbort.await(10, TimeUnit.SECONDS));
        assertTrue(receiver.aborted.getFirst().contains("failed its checksum"), receiver.aborted.toString());
        assertTrue(receiver.committed.isEmpty());
    }

    @Test
    void aTruncatedStreamDiscardsTheRound() throws Exception {
        try (TransportClient client = TransportClient.tls(pki.client(TlsSettings.Provider.AUTO), "client");
             Arena arena = Arena.ofConfined()) {
            ClientStream s = client.connect(server.address(), hello(0, 1, new byte[16]));
            ByteBuf frame = new BatchEncoder(false).encode(ByteBufAllocator.DEFAULT, 1, 0x10000, LoopbackTest.mixedPages(arena, 64, 2));
            frame.writerIndex(frame.writerIndex() / 2);   // the sender dies half-way through a batch
            s.sendFrame(frame);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (s.inFlight() > 0 && System.nanoTime() < deadline) Thread.onSpinWait();
            s.close();
        }
        assertTrue(receiver.anyAbort.await(10, TimeUnit.SECONDS), "the round was discarded");
        assertTrue(receiver.aborted.getFirst().contains("closed before the round was committed"), receiver.aborted.toString());
        assertEquals(0, receiver.pagesReceived.get(), "half a batch is no batch");
        assertTrue(receiver.committed.isEmpty());
    }

    @Test
    void certificateFilesArePrivate() throws Exception {
        for (String f : new String[]{"ca.key", "ca.crt", "client.key", "client.crt"})
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pki.dir.resolve(f))), f);
        TransportException again = assertThrows(TransportException.class,
                () -> Certificates.initCa(pki.dir, "x", Duration.ofDays(1)));
        assertTrue(again.getMessage().contains("already holds a CA"), again.getMessage());
    }
}
