package io.jmigrate.engine.image;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.jmigrate.engine.image.ImageFixtures.Written;
import io.jmigrate.engine.image.proto.ImageFile;
import io.jmigrate.engine.image.proto.PageRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;

import static io.jmigrate.engine.image.ImageFixtures.CHILD;
import static io.jmigrate.engine.image.ImageFixtures.PAGE;
import static io.jmigrate.engine.image.ImageFixtures.ROOT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageRoundTripTest {
    @TempDir Path tmp;

    @Test
    void everyImageReadsBackEqual() {
        Path dir = tmp.resolve("img");
        Written w = ImageFixtures.writeSet(dir);
        ImageSet set = ImageSet.open(dir);

        assertEquals(w.inventory(), set.inventory());
        assertEquals(ImageFormat.VERSION, set.inventory().getFormatVersion());
        assertEquals(w.pstree(), set.pstree());
        assertEquals(List.of(ROOT, CHILD), set.pids());
        for (int pid : set.pids()) {
            assertEquals(w.cores().get(pid), set.core(pid));
            assertEquals(w.mms().get(pid), set.mm(pid));
            assertEquals(w.pageIndexes().get(pid), set.pageIndex(pid));
            assertEquals(w.fds().get(pid), set.fds(pid));
            assertEquals(w.pages().get(pid).length, set.pagesBytes(pid));
            assertEquals(4096, set.pagesDataOffset());
            assertEquals(dir.resolve("pages-" + pid + ".img"), set.pagesPath(pid));
        }
        List<String> names = set.inventory().getFilesList().stream().map(ImageFile::getName).sorted().toList();
        assertEquals(List.of("core-42.img", "core-43.img", "fds-42.img", "fds-43.img", "mm-42.img", "mm-43.img",
                "pagemap-42.img", "pagemap-43.img", "pages-42.img", "pages-43.img", "pstree.img"), names);
    }

    @Test
    void inventoryRecordsSizeAndWholeFileChecksum() throws Exception {
        Path dir = tmp.resolve("img");
        Written w = ImageFixtures.writeSet(dir);
        for (ImageFile f : w.inventory().getFilesList()) {
            byte[] bytes = Files.readAllBytes(dir.resolve(f.getName()));
            CRC32C crc = new CRC32C();
            crc.update(bytes);
            assertEquals(bytes.length, f.getSize(), f.getName());
            assertEquals((int) crc.getValue(), f.getCrc32C(), f.getName());
        }
        try (var ds = Files.list(dir)) {
            assertEquals(List.of(), ds.filter(p -> p.toString().endsWith(".tmp")).toList(), "no temporaries left");
        }
    }

    @Test
    void pageDataIsAlignedAndReadsBackAtIndexedOffsets() throws Exception {
        Path dir = tmp.resolve("img");
        Written w = ImageFixtures.writeSet(dir);
        ImageSet set = ImageSet.open(dir);
        for (int pid : set.pids()) {
            byte[] expected = w.pages().get(pid);
            byte[] file = Files.readAllBytes(set.pagesPath(pid));
            assertEquals(4096 + expected.length, file.length);
            assertArrayEquals(expected, Arrays.copyOfRange(file, 4096, file.length), "raw pages right after the header page");

            long next = 4096;
            int at = 0;
            try (PagesReader r = set.openPages(pid); Arena arena = Arena.ofConfined()) {
                for (PageRun run : set.pageIndex(pid).getRunsList()) {
                    assertEquals(next, run.getFileOffset(), "runs are laid out back to back");
                    assertEquals(0, run.getFileOffset() % PAGE);
                    int len = (int) run.getNrPages() * PAGE;
                    MemorySegment seg = arena.allocate(len, PAGE);
                    r.read(run.getFileOffset(), seg, len);
                    assertArrayEquals(Arrays.copyOfRange(expected, at, at + len), seg.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                    ByteBuffer bb = ByteBuffer.allocate(len);
                    r.read(run.getFileOffset(), bb);
                    assertArrayEquals(Arrays.copyOfRange(expected, at, at + len), bb.array());
                    next += len;
                    at += len;
                }
                MemorySegment mapped = r.mapData(arena);
                assertArrayEquals(expected, mapped.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                long end = next;
                assertThrows(IllegalArgumentException.class, () -> r.read(end, ByteBuffer.allocate(PAGE)));
                assertThrows(IllegalArgumentException.class, () -> r.read(end - PAGE, ByteBuffer.allocate(2 * PAGE)));
                assertThrows(IllegalArgumentException.class, () -> r.read(0, ByteBuffer.allocate(PAGE)));
            }
        }
    }

    @Test
    void abortAfterCommitKeepsTheSet() {
        Path dir = tmp.resolve("img");
        ImageWriter w = ImageWriter.create(dir);
        ImageFixtures.writeAllButInventory(w);
        w.commit(ImageFixtures.inventoryBuilder());
        w.abort();
        w.close();
        assertEquals(List.of(ROOT, CHILD), ImageSet.open(dir).pids());
        assertThrows(IllegalStateException.class, () -> w.openPages(ROOT));
    }

    @Test
    void rewritingADirectoryReplacesTheOldSet() {
        Path dir = tmp.resolve("img");
        ImageFixtures.writeSet(dir);
        Written second = ImageFixtures.writeSet(dir);
        assertEquals(second.inventory(), ImageSet.open(dir).inventory());
    }

    @Test
    void emptyPagesFileIsValid() {
        Path dir = tmp.resolve("img");
        try (ImageWriter w = ImageWriter.create(dir)) {
            w.writeMessage(ImageKind.PSTREE, 0, io.jmigrate.engine.image.proto.ProcessTree.newBuilder()
                    .addProcesses(io.jmigrate.engine.image.proto.ProcessEntry.newBuilder().setPid(7)).build());
            w.writeMessage(ImageKind.CORE, 7, io.jmigrate.engine.image.proto.ProcessCore.newBuilder().setPid(7).build());
            w.writeMessage(ImageKind.MM, 7, io.jmigrate.engine.image.proto.MmImage.getDefaultInstance());
            w.writeMessage(ImageKind.FDS, 7, io.jmigrate.engine.image.proto.FdTable.getDefaultInstance());
            w.writeMessage(ImageKind.PAGEMAP, 7, io.jmigrate.engine.image.proto.PageIndex.getDefaultInstance());
            w.openPages(7).close();
            w.commit(io.jmigrate.engine.image.proto.Inventory.newBuilder().setRootPid(7));
        }
        ImageSet set = ImageSet.open(dir);
        assertEquals(0, set.pagesBytes(7));
    }

    @Test
    void crc32cCombineMatchesDirectComputation() {
        Random rnd = new Random(1);
        for (int len : new int[] {0, 1, 7, 4096, 100_003}) {
            byte[] a = new byte[rnd.nextInt(5000)];
            byte[] b = new byte[len];
            rnd.nextBytes(a);
            rnd.nextBytes(b);
            CRC32C ca = new CRC32C(), cb = new CRC32C(), cab = new CRC32C();
            ca.update(a);
            cb.update(b);
            cab.update(a);
            cab.update(b);
            assertEquals((int) cab.getValue(), ImageFormat.crc32cCombine((int) ca.getValue(), (int) cb.getValue(), len), "len " + len);
        }
    }

    /** Pages files reach gigabytes: the combination must hold past 2^32 bits (512 MiB), where a wrapped table broke. */
    @Test
    void crc32cCombineHoldsForPayloadsOfHalfAGibibyteAndMore() {
        byte[] a = "the header page".getBytes();
        byte[] chunk = new byte[1 << 20];
        new Random(2).nextBytes(chunk);
        CRC32C ca = new CRC32C();
        ca.update(a);
        for (long mib : new long[] {511, 512, 513, 1100}) {
            CRC32C cb = new CRC32C(), cab = new CRC32C();
            cab.update(a);
            for (long i = 0; i < mib; i++) {
                cb.update(chunk);
                cab.update(chunk);
            }
            assertEquals((int) cab.getValue(), ImageFormat.crc32cCombine((int) ca.getValue(), (int) cb.getValue(), mib << 20),
                    mib + " MiB");
        }
    }

    @Test
    void imageKindNames() {
        assertEquals("core-42.img", ImageKind.CORE.fileName(42));
        assertEquals("inventory.img", ImageKind.INVENTORY.fileName(0));
        assertEquals(ImageKind.PAGES, ImageKind.ofFileName("pages-42.img"));
        assertEquals(42, ImageKind.pidOf("pagemap-42.img"));
        assertEquals(ImageKind.PAGEMAP, ImageKind.ofFileName("pagemap-42.img"));
        assertNull(ImageKind.ofFileName("core-042.img"));
        assertNull(ImageKind.ofFileName("core-.img"));
        assertNull(ImageKind.ofFileName("../core-1.img"));
        assertNull(ImageKind.ofFileName("core-99999999999.img"));
        assertEquals(ImageKind.FDS, ImageKind.ofCode(7));
        assertEquals("mm-PID.img", ImageKind.MM.pattern());
    }

    @Test
    void jsonShowsHexAddressesAndNoPageOrXstateBytes() {
        Path dir = tmp.resolve("img");
        Written w = ImageFixtures.writeSet(dir);
        String json = ImageJson.render(ImageSet.open(dir));

        JsonObject doc = JsonParser.parseString(json).getAsJsonObject();   // well-formed
        JsonObject root = doc.getAsJsonArray("processes").get(0).getAsJsonObject();
        JsonObject summary = root.getAsJsonObject("summary");
        assertEquals(ROOT, summary.get("pid").getAsInt());
        assertEquals(3, summary.get("vmas").getAsInt());
        assertEquals(806, summary.get("pages_dumped").getAsLong());
        assertEquals("3.15", summary.get("pages_mib").getAsString());
        assertEquals(2, summary.get("threads").getAsInt());
        assertEquals(806 + 6, doc.getAsJsonObject("summary").get("pages_dumped").getAsLong());

        JsonObject mm = root.getAsJsonObject("mm");
        assertEquals("0x55d012340000", mm.getAsJsonArray("vmas").get(1).getAsJsonObject().get("start").getAsString());
        assertEquals("0x55d013340000", mm.get("brk").getAsString());
        assertEquals("0x55d000000000", mm.get("start_code").getAsString());
        JsonObject auxv = mm.getAsJsonArray("auxv").get(1).getAsJsonObject();
        assertEquals("AT_ENTRY", auxv.get("type").getAsString());
        assertEquals("0x55d000001040", auxv.get("value").getAsString());
        assertEquals("0x55d012340000", root.getAsJsonObject("pagemap").getAsJsonArray("runs").get(0)
                .getAsJsonObject().get("vaddr").getAsString());

        JsonObject thread = root.getAsJsonObject("core").getAsJsonArray("threads").get(0).getAsJsonObject();
        assertEquals("0x7f123456789a", thread.getAsJsonObject("regs").get("rip").getAsString());
        assertEquals("0xffffffffffffffda", thread.getAsJsonObject("regs").get("rax").getAsString());
        assertEquals("0x1000", thread.get("sigmask").getAsString());
        assertEquals(ImageFixtures.XSTATE_BYTES, thread.get("xstate_bytes").getAsInt());
        assertFalse(thread.has("xstate"));
        JsonObject sa = root.getAsJsonObject("core").getAsJsonArray("sigactions").get(0).getAsJsonObject();
        assertEquals("0x55d000001f40", sa.get("handler").getAsString());
        assertEquals("0x7f1234567890", sa.get("restorer").getAsString());
        assertEquals("0x200", sa.get("mask").getAsString());
        assertEquals("SIG_IGN", root.getAsJsonObject("core").getAsJsonArray("sigactions").get(1)
                .getAsJsonObject().get("handler").getAsString());
        assertEquals(10, root.getAsJsonObject("core").getAsJsonArray("shared_pending_signals").get(0)
                .getAsJsonObject().get("si_signo").getAsInt());
        assertEquals("unlimited", root.getAsJsonObject("core").getAsJsonArray("rlimits").get(0)
                .getAsJsonObject().get("hard").getAsString());
        assertEquals("022", root.getAsJsonObject("core").get("umask").getAsString());
        assertEquals("0100644", root.getAsJsonObject("fds").getAsJsonArray("fds").get(1).getAsJsonObject()
                .get("mode").getAsString());

        assertFalse(json.contains(ImageFixtures.PAGE_MARKER), "no page contents");
        assertFalse(json.contains(Base64.getEncoder().encodeToString(ImageFixtures.pages(ROOT, 0, 1)).substring(0, 40)),
                "no page contents in base64");
        String xstateB64 = Base64.getEncoder().encodeToString(ImageFixtures.xstate(ROOT));
        assertFalse(json.contains(xstateB64.substring(0, 40)), "no xstate bytes");
        assertTrue(json.length() < 40_000, "a document for people, not a dump of the data: " + json.length());
        assertEquals(w.inventory().getHostname(), doc.getAsJsonObject("inventory").get("hostname").getAsString());
    }
}
