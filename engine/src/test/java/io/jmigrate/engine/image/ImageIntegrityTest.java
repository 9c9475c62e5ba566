package io.jmigrate.engine.image;

import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.ProcessTree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static io.jmigrate.engine.image.ImageFixtures.CHILD;
import static io.jmigrate.engine.image.ImageFixtures.PAGE;
import static io.jmigrate.engine.image.ImageFixtures.ROOT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Partial, damaged and foreign image directories must be refused, each with a message naming the file. */
class ImageIntegrityTest {
    @TempDir Path tmp;

    private Path dir() { return tmp.resolve("img"); }

    /** Opens {@code dir} expecting failure; checks the message names what it should and is one line. */
    private static String assertRefused(Path dir, String... fragments) {
        ImageException e = assertThrows(ImageException.class, () -> ImageSet.open(dir));
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "\"" + e.getMessage() + "\" should mention \"" + f + "\"");
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    private static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    // ---- the directory ---------------------------------------------------------------------------------------

    @Test
    void missingDirectory() {
        assertRefused(tmp.resolve("nope"), "nope", "does not exist");
    }

    @Test
    void notADirectory() throws Exception {
        Path file = Files.writeString(tmp.resolve("plain"), "x");
        assertRefused(file, "plain", "is not a directory");
        ImageException e = assertThrows(ImageException.class, () -> ImageWriter.create(file));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
    }

    @Test
    void dumpKilledBeforeCommitIsNotAnImageSet() {
        ImageWriter w = ImageWriter.create(dir());
        ImageFixtures.writeAllButInventory(w);   // every file but inventory.img; no commit, no close: "killed"
        assertTrue(Files.exists(dir().resolve("core-42.img")));
        assertRefused(dir(), dir().toString(), "is not a jmigrate image directory (no inventory.img)", "did not finish");
    }

    @Test
    void pagesWriterNotClosedLeavesOnlyATemporary() throws Exception {
        ImageWriter w = ImageWriter.create(dir());
        PagesWriter pw = w.openPages(ROOT);
        pw.append(MemorySegment.ofArray(new byte[PAGE]));
        assertEquals(List.of("pages-42.img.tmp"), listing(dir()));
        assertThrows(IllegalStateException.class, () -> w.commit(ImageFixtures.inventoryBuilder()), "cannot commit with pages open");
        assertFalse(Files.exists(dir().resolve("inventory.img")));
    }

    @Test
    void oldInventoryIsRemovedBeforeANewDumpWritesAnything() throws Exception {
        ImageFixtures.writeSet(dir());
        ImageSet.open(dir());
        ImageWriter w = ImageWriter.create(dir());
        assertFalse(Files.exists(dir().resolve("inventory.img")), "old inventory.img must go first");
        assertEquals(List.of(), listing(dir()), "and the rest of the old set with it");
        w.writeMessage(ImageKind.CORE, ROOT, ImageFixtures.core(ROOT));   // a new dump, half way
        assertRefused(dir(), "no inventory.img");
    }

    @Test
    void createLeavesForeignFilesAlone() throws Exception {
        Files.createDirectories(dir());
        Files.writeString(dir().resolve("core-1.img"), "not ours: no magic");
        Files.writeString(dir().resolve("notes.txt"), "mine");
        ImageWriter.create(dir()).abort();
        assertEquals(List.of("core-1.img", "notes.txt"), listing(dir()));
    }

    @Test
    void abortLeavesNothingThatOpens() throws Exception {
        ImageWriter w = ImageWriter.create(dir());
        ImageFixtures.writeAllButInventory(w);
        PagesWriter open = w.openPages(99);
        open.append(MemorySegment.ofArray(new byte[2 * PAGE]));
        w.abort();
        assertFalse(Files.exists(dir()), "the writer created the directory, so an aborted dump removes it");
        assertThrows(IllegalStateException.class, () -> open.append(MemorySegment.ofArray(new byte[PAGE])));
        assertThrows(IllegalStateException.class, () -> w.writeMessage(ImageKind.CORE, 1, ImageFixtures.core(1)));
        assertRefused(dir(), "does not exist");
    }

    @Test
    void abortInAnExistingDirectoryRemovesOnlyOurFiles() throws Exception {
        Files.createDirectories(dir());
        Files.writeString(dir().resolve("notes.txt"), "mine");
        try (ImageWriter w = ImageWriter.create(dir())) {
            ImageFixtures.writeAllButInventory(w);
            w.openPages(99);
            // leaving try-with-resources without commit aborts
        }
        assertEquals(List.of("notes.txt"), listing(dir()));
        assertRefused(dir(), "no inventory.img");
    }

    @Test
    void commitRefusesAnIncompleteSet() throws Exception {
        try (ImageWriter w = ImageWriter.create(dir())) {
            w.writeMessage(ImageKind.PSTREE, 0, ProcessTree.newBuilder()
                    .addProcesses(ProcessEntry.newBuilder().setPid(ROOT)).build());
            w.writeMessage(ImageKind.CORE, ROOT, ImageFixtures.core(ROOT));
            w.writeMessage(ImageKind.MM, ROOT, ImageFixtures.mm(ROOT));
            w.writeMessage(ImageKind.PAGEMAP, ROOT, PageIndex.getDefaultInstance());
            w.openPages(ROOT).close();
            ImageException e = assertThrows(ImageException.class, () -> w.commit(ImageFixtures.inventoryBuilder()));
            assertTrue(e.getMessage().contains("fds-42.img"), e.getMessage());
            assertFalse(Files.exists(dir().resolve("inventory.img")));
            w.writeMessage(ImageKind.FDS, ROOT, ImageFixtures.fds());
            e = assertThrows(ImageException.class, () -> w.commit(Inventory.newBuilder().setRootPid(7)));
            assertTrue(e.getMessage().contains("root pid 7"), e.getMessage());
            w.commit(ImageFixtures.inventoryBuilder());
        }
        ImageSet.open(dir());
    }

    @Test
    void writerRejectsMisuse() {
        try (ImageWriter w = ImageWriter.create(dir())) {
            assertThrows(IllegalArgumentException.class, () -> w.writeMessage(ImageKind.CORE, ROOT, ImageFixtures.mm(ROOT)));
            assertThrows(IllegalArgumentException.class, () -> w.writeMessage(ImageKind.INVENTORY, 0, Inventory.getDefaultInstance()));
            w.writeMessage(ImageKind.CORE, ROOT, ImageFixtures.core(ROOT));
            assertThrows(IllegalStateException.class, () -> w.writeMessage(ImageKind.CORE, ROOT, ImageFixtures.core(ROOT)));
        }
    }

    @Test
    void appendRejectsLengthsThatAreNotWholePages() {
        try (ImageWriter w = ImageWriter.create(dir()); PagesWriter pw = w.openPages(ROOT)) {
            for (int len : new int[] {1, 4095, 4097, 3 * PAGE + 512}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> pw.append(MemorySegment.ofArray(new byte[len])));
                assertTrue(e.getMessage().contains(len + " bytes"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> pw.append(ByteBuffer.allocateDirect(len)));
            }
            assertEquals(0, pw.bytesAppended(), "nothing was appended");
            assertEquals(4096, pw.append(MemorySegment.ofArray(new byte[PAGE])));
            assertEquals(8192, pw.append(MemorySegment.ofArray(new byte[0])));
            assertEquals(8192, pw.append(MemorySegment.ofArray(new byte[PAGE])));
        }
    }

    // ---- damaged files -------------------------------------------------------------------------------------------

    @Test
    void truncatedProtoFile() throws Exception {
        ImageFixtures.writeSet(dir());
        Path core = dir().resolve("core-42.img");
        long size = Files.size(core);
        ImageFixtures.truncate(core, size - 100);
        assertRefused(dir(), "core-42.img is truncated (expected " + (size - 32) + " payload bytes, found " + (size - 132) + ")");
        ImageFixtures.truncate(core, 10);
        assertRefused(dir(), "core-42.img is truncated (expected a 32-byte header, found 10 bytes)");
    }

    @Test
    void truncatedPagesFileEvenWithoutChecksums() throws Exception {
        ImageFixtures.writeSet(dir());
        Path pages = dir().resolve("pages-42.img");
        ImageFixtures.truncate(pages, Files.size(pages) - PAGE);
        ImageException e = assertThrows(ImageException.class, () -> ImageSet.open(dir(), false));
        assertTrue(e.getMessage().contains("pages-42.img is truncated"), e.getMessage());
    }

    @Test
    void truncatedInventory() throws Exception {
        ImageFixtures.writeSet(dir());
        Path inv = dir().resolve("inventory.img");
        ImageFixtures.truncate(inv, Files.size(inv) - 1);
        assertRefused(dir(), "inventory.img is truncated");
    }

    @Test
    void flippedByteInPagesIsAChecksumMismatch() {
        ImageFixtures.writeSet(dir());
        ImageFixtures.flipByte(dir().resolve("pages-42.img"), 4096 + 3 * PAGE + 1000);
        assertRefused(dir(), "pages-42.img checksum mismatch: the file is corrupt");
        ImageSet.open(dir(), false);   // page checksums are optional: sizes and headers still match
    }

    @Test
    void flippedByteInPagesHeaderPaddingIsAChecksumMismatch() {
        ImageFixtures.writeSet(dir());
        ImageFixtures.flipByte(dir().resolve("pages-43.img"), 100);
        assertRefused(dir(), "pages-43.img checksum mismatch");
    }

    @Test
    void flippedByteInAProtoFileIsAChecksumMismatch() throws Exception {
        ImageFixtures.writeSet(dir());
        Path mm = dir().resolve("mm-43.img");
        ImageFixtures.flipByte(mm, Files.size(mm) - 5);
        assertRefused(dir(), "mm-43.img checksum mismatch: the file is corrupt");
    }

    @Test
    void flippedByteInAProtoHeaderIsCaught() {
        ImageFixtures.writeSet(dir());
        ImageFixtures.flipByte(dir().resolve("fds-42.img"), 29);   // the reserved word: only the inventory's CRC sees it
        assertRefused(dir(), "fds-42.img checksum mismatch");
    }

    @Test
    void flippedByteInInventoryIsAChecksumMismatch() throws Exception {
        ImageFixtures.writeSet(dir());
        Path inv = dir().resolve("inventory.img");
        ImageFixtures.flipByte(inv, Files.size(inv) - 3);
        assertRefused(dir(), "inventory.img checksum mismatch");
    }

    @Test
    void foreignFileRenamedIntoTheSetHasBadMagic() throws Exception {
        ImageFixtures.writeSet(dir());
        Path mm = dir().resolve("mm-42.img");
        Files.delete(mm);
        Files.write(mm, "\u007fELF not an image at all, just some other file renamed here".getBytes());
        assertRefused(dir(), "mm-42.img is not a jmigrate image (bad magic)");
        Files.write(mm, new byte[] {'J', 'M'});
        assertRefused(dir(), "mm-42.img is truncated (expected a 32-byte header, found 2 bytes)");
    }

    @Test
    void filesSwappedBetweenKindsOrProcesses() throws Exception {
        ImageFixtures.writeSet(dir());
        Files.copy(dir().resolve("mm-42.img"), dir().resolve("core-42.img"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertRefused(dir(), "core-42.img holds a MM image, not CORE");

        ImageFixtures.writeSet(dir());
        Files.copy(dir().resolve("core-43.img"), dir().resolve("core-42.img"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertRefused(dir(), "core-42.img");
    }

    @Test
    void futureFormatVersion() {
        ImageFixtures.writeSet(dir());
        ImageFixtures.putIntLE(dir().resolve("inventory.img"), 8, 9);
        assertRefused(dir(), "inventory.img was written by image format version 9; this jmigrate reads version 1");

        ImageFixtures.writeSet(dir());
        ImageFixtures.putIntLE(dir().resolve("pages-43.img"), 8, 2);
        assertRefused(dir(), "pages-43.img was written by image format version 2; this jmigrate reads version 1");
    }

    @Test
    void listedFileMissing() throws Exception {
        ImageFixtures.writeSet(dir());
        Files.delete(dir().resolve("fds-43.img"));
        assertRefused(dir(), "fds-43.img is missing (listed in inventory.img)");
    }

    @Test
    void extraBytesAfterThePayload() throws Exception {
        ImageFixtures.writeSet(dir());
        Files.write(dir().resolve("pstree.img"), new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
        assertRefused(dir(), "pstree.img has 3 bytes past the end of its payload");
    }

    @Test
    void pageIndexPointingPastThePagesFileIsRefused() {
        try (ImageWriter w = ImageWriter.create(dir())) {
            w.writeMessage(ImageKind.PSTREE, 0, ProcessTree.newBuilder()
                    .addProcesses(ProcessEntry.newBuilder().setPid(ROOT)).build());
            w.writeMessage(ImageKind.CORE, ROOT, ImageFixtures.core(ROOT));
            w.writeMessage(ImageKind.MM, ROOT, ImageFixtures.mm(ROOT));
            w.writeMessage(ImageKind.FDS, ROOT, ImageFixtures.fds());
            long off;
            try (PagesWriter pw = w.openPages(ROOT)) {
                off = pw.append(MemorySegment.ofArray(new byte[2 * PAGE]));
            }
            w.writeMessage(ImageKind.PAGEMAP, ROOT, PageIndex.newBuilder()
                    .addRuns(ImageFixtures.run(0x1000, 3, off)).build());   // 3 pages, only 2 written
            w.commit(ImageFixtures.inventoryBuilder());
        }
        assertRefused(dir(), "pagemap-42.img run 0 (vaddr 0x1000) points outside the page data of pages-42.img");
    }

    /** A set whose mm keeps shared memory contents where the set has none: in a shmem file it lacks, or past its pages. */
    @Test
    void sharedMemoryRunsOutsideTheFileThatHoldsThemAreRefused() {
        for (boolean separate : new boolean[]{true, false}) {
            Path dir = tmp.resolve("shm-" + separate);
            try (ImageWriter w = ImageWriter.create(dir)) {
                w.writeMessage(ImageKind.PSTREE, 0, ProcessTree.newBuilder()
                        .addProcesses(ProcessEntry.newBuilder().setPid(ROOT)).build());
                w.writeMessage(ImageKind.CORE, ROOT, ImageFixtures.core(ROOT));
                long off;
                try (PagesWriter pw = w.openPages(ROOT)) {
                    off = pw.append(MemorySegment.ofArray(new byte[2 * PAGE]));
                }
                w.writeMessage(ImageKind.MM, ROOT, ImageFixtures.mm(ROOT).toBuilder().setShmemFile(separate)
                        .addShmemObjects(io.jmigrate.engine.image.proto.ShmemObject.newBuilder().setInode(77).setSize(PAGE)
                                .addRuns(io.jmigrate.engine.image.proto.ShmemRun.newBuilder().setOffset(0).setLength(PAGE)
                                        .setFileOffset(off + 2 * PAGE))).build());        // after the two pages written
                w.writeMessage(ImageKind.FDS, ROOT, ImageFixtures.fds());
                w.writeMessage(ImageKind.PAGEMAP, ROOT, PageIndex.newBuilder().addRuns(ImageFixtures.run(0x1000, 2, off)).build());
                w.commit(ImageFixtures.inventoryBuilder());
            }
            if (separate) assertRefused(dir, "incomplete image set", "mm-42.img keeps shared memory in shmem-42.img, which is not in the set");
            else assertRefused(dir, "pages-42.img is too short for the shared memory run of inode 77");
        }
    }

    @Test
    void pagesReaderNoticesAFileChangedAfterOpen() throws Exception {
        ImageFixtures.writeSet(dir());
        ImageSet set = ImageSet.open(dir());
        ImageFixtures.truncate(set.pagesPath(CHILD), PAGE);
        ImageException e = assertThrows(ImageException.class, () -> set.openPages(CHILD));
        assertTrue(e.getMessage().contains("pages-43.img"), e.getMessage());
        assertThrows(ImageException.class, () -> set.core(12345));
    }

    @Test
    void bigNativeAppendIsCheckedLikeSmallOnes() {
        // the direct (unstaged) write path feeds the same CRC: corrupting a page it wrote is caught
        try (ImageWriter w = ImageWriter.create(dir())) {
            ImageFixtures.writeAllButInventory(w);
            w.commit(ImageFixtures.inventoryBuilder());
        }
        ImageFixtures.flipByte(dir().resolve("pages-42.img"), 4096 + 500L * PAGE + 7);
        assertRefused(dir(), "pages-42.img checksum mismatch");
    }
}
