package io.jmigrate.pageserver;

import io.jmigrate.engine.image.ImageKind;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.ImageWriter;
import io.jmigrate.engine.image.PagesReader;
import io.jmigrate.engine.image.PagesWriter;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.ProcessTree;
import io.jmigrate.transport.PageFetcher;
import io.jmigrate.transport.RoundSender;
import io.jmigrate.transport.TestPki;
import io.jmigrate.transport.TlsSettings;
import io.jmigrate.transport.TransportBench;
import io.jmigrate.transport.TransportClient;
import io.jmigrate.transport.TransportException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An image set sent to a page server over TLS comes out as an image set the engine opens, with the same
 * processes and the same memory page for page; a round whose sender goes away leaves nothing behind.
 */
class PageServerTest {
    @TempDir
    Path tmp;

    private TestPki pki;
    private final List<String> log = new CopyOnWriteArrayList<>();

    @BeforeEach
    void certificates() {
        pki = new TestPki(tmp.resolve("pki"));
    }

    private PageServer startServer(Path root) {
        return PageServer.start(new InetSocketAddress("127.0.0.1", 0),
                pki.server(TlsSettings.Provider.AUTO).serverContext(), root, log::add);
    }

    private TransportClient client() {
        return pki.newClient();
    }

    /** A small but complete image set: two processes, several runs each (one empty process), realistic pages. */
    static Path writeSet(Path dir, Arena arena) {
        try (ImageWriter w = ImageWriter.create(dir)) {
            int[] pids = {4242, 4243};
            w.writeMessage(ImageKind.PSTREE, 0, ProcessTree.newBuilder()
                    .addProcesses(ProcessEntry.newBuilder().setPid(4242).setPpid(1).addThreads(4242))
                    .addProcesses(ProcessEntry.newBuilder().setPid(4243).setPpid(4242).addThreads(4243)).build());
            for (int pid : pids) {
                w.writeMessage(ImageKind.CORE, pid, ProcessCore.newBuilder().setPid(pid).setComm("p" + pid).build());
                w.writeMessage(ImageKind.MM, pid, MmImage.newBuilder().build());
                w.writeMessage(ImageKind.FDS, pid, FdTable.newBuilder().build());
                PageIndex.Builder idx = PageIndex.newBuilder().setPagesFileDataOffset(4096);
                try (PagesWriter pw = w.openPages(pid)) {
                    if (pid == 4242) {
                        long[][] runs = {{0x400000, 3}, {0x600000, 300}, {0x7ffff0000000L, 129}};
                        for (long[] r : runs) {
                            MemorySegment m = arena.allocate(r[1] * 4096, 4096);
                            TransportBench.fillRealistic(m, r[0]);
                            idx.addRuns(PageRun.newBuilder().setVaddr(r[0]).setNrPages(r[1]).setFileOffset(pw.append(m)));
                        }
                    }
                }
                w.writeMessage(ImageKind.PAGEMAP, pid, idx.build());
            }
            w.commit(Inventory.newBuilder().setRootPid(4242).setHostname("source").setParentDir("../pre-1"));
        }
        return dir;
    }

    /** Every page of every process of {@code a} has the same bytes in {@code b}, and b has no other pages. */
    static void assertSameMemory(ImageSet a, ImageSet b) {
        assertEquals(a.pids(), b.pids());
        try (Arena arena = Arena.ofConfined()) {
            for (int pid : a.pids()) {
                long total = 0;
                for (PageRun r : a.pageIndex(pid).getRunsList()) total += r.getNrPages();
                long totalB = 0;
                for (PageRun r : b.pageIndex(pid).getRunsList()) totalB += r.getNrPages();
                assertEquals(total, totalB, "pages of pid " + pid);
                if (total == 0) continue;
                try (PagesReader ra = a.openPages(pid); PagesReader rb = b.openPages(pid)) {
                    MemorySegment da = ra.mapData(arena), db = rb.mapData(arena);
                    for (PageRun r : a.pageIndex(pid).getRunsList()) {
                        for (long p = 0; p < r.getNrPages(); p++) {
                            long vaddr = r.getVaddr() + p * 4096;
                            long offB = offsetOf(b.pageIndex(pid), vaddr);
                            assertTrue(offB >= 0, "page 0x" + Long.toHexString(vaddr) + " missing");
                            long offA = r.getFileOffset() - 4096 + p * 4096;
                            assertEquals(-1, da.asSlice(offA, 4096).mismatch(db.asSlice(offB - 4096, 4096)),
                                    "page 0x" + Long.toHexString(vaddr) + " of pid " + pid);
                        }
                    }
                }
            }
        }
    }

    private static long offsetOf(PageIndex idx, long vaddr) {
        for (PageRun r : idx.getRunsList())
            if (vaddr >= r.getVaddr() && vaddr < r.getVaddr() + r.getNrPages() * 4096)
                return r.getFileOffset() + (vaddr - r.getVaddr());
        return -1;
    }

    @Test
    void aSentImageSetArrivesAsTheSameImageSet() throws IOException {
        Path root = tmp.resolve("received");
        try (Arena arena = Arena.ofShared(); PageServer server = startServer(root); TransportClient client = client()) {
            ImageSet source = ImageSet.open(writeSet(tmp.resolve("source"), arena));
            ImageSetSender.Result r;
            try (RoundSender s = RoundSender.open(client, server.address(), "final", 2, true)) {
                r = ImageSetSender.send(source, s);
            }
            assertEquals(root.resolve("final").toString(), r.committed().getDirectory());
            ImageSet received = ImageSet.open(root.resolve("final"));   // every checksum, pages included
            assertSameMemory(source, received);
            assertEquals(source.core(4243), received.core(4243));
            assertEquals("../pre-1", received.inventory().getParentDir(), "the parent chain is kept");
            assertEquals("source", received.inventory().getHostname());
            assertTrue(r.holes() > 0, "zero pages went as holes");
            try (var files = Files.list(root)) {
                assertEquals(List.of("final"), files.map(p -> p.getFileName().toString()).toList(), "no temporary left");
            }

            // lazy pages from the committed round, across two runs' boundary inside the same VMA range
            try (PageFetcher f = PageFetcher.open(client, server.address(), "final")) {
                MemorySegment dst = arena.allocate(200 * 4096L);
                f.fetch(4242, 0x600000 + 50 * 4096L, dst);
                MemorySegment expect = arena.allocate(300 * 4096L);
                TransportBench.fillRealistic(expect, 0x600000);
                assertEquals(-1, dst.mismatch(expect.asSlice(50 * 4096L, 200 * 4096L)));
                TransportException missing = assertThrows(TransportException.class,
                        () -> f.fetch(4242, 0x500000, arena.allocate(4096)));
                assertTrue(missing.getMessage().contains("is not in round final"), missing.getMessage());
            }
        }
    }

    @Test
    void aRoundWhoseSenderGoesAwayIsDiscarded() throws Exception {
        Path root = tmp.resolve("received");
        try (Arena arena = Arena.ofShared(); PageServer server = startServer(root); TransportClient client = client()) {
            RoundSender s = RoundSender.open(client, server.address(), "pre-1", 2, true);
            MemorySegment m = arena.allocate(2000 * 4096L, 4096);
            TransportBench.fillRealistic(m, 5);
            s.sendPages(77, 0x10000000, m);
            s.sendFile("core-77.img", Files.readAllBytes(writeSet(tmp.resolve("src"), arena).resolve("core-4242.img")));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (server.bytesInProgress() == 0 && System.nanoTime() < deadline) Thread.sleep(10);
            assertTrue(server.bytesInProgress() > 0, "the server received part of the round");
            try (var files = Files.list(root)) {
                assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith(".pre-1.partial-")), "kept aside while partial");
            }
            s.close();   // no commit: the sender is gone
            while (server.transport().roundsAborted() == 0 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(1, server.transport().roundsAborted());
            try (var files = Files.list(root)) {
                assertEquals(List.of(), files.toList(), "nothing of the partial round is left");
            }
            assertTrue(log.stream().anyMatch(l -> l.contains("discarded round pre-1")), log.toString());
        }
        assertFalse(Files.exists(root.resolve("pre-1")));
    }
}
