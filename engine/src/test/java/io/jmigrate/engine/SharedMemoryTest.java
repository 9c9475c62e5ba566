package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpRefusedException;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageException;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.ShmemKind;
import io.jmigrate.engine.image.proto.ShmemObject;
import io.jmigrate.engine.image.proto.ShmemRun;
import io.jmigrate.engine.proc.MapsEntry;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shared memory across checkpoint/restore, on the shmem fixture: a parent and its child share MAP_SHARED
 * anonymous memory, a memfd (descriptor, shared and private mappings) and a MAP_SHARED file mapping. After the
 * restore each still sees the patterns written before the dump, and each sees the counter the other keeps writing:
 * the memory is one object again, shared by both processes of the tree.
 */
class SharedMemoryTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern TICK = Pattern.compile("tick (\\d+) anon_other=(-?\\d+) memfd_other=(-?\\d+)");
    private static final long PAGE = 4096;

    @TempDir
    Path tmp;

    @Test
    void parentAndChildShareMemoryAgainAfterRestore() throws IOException {
        ProcFs procfs = new ProcFs();
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("shmem.log");
            Path childLog = tmp.resolve("shmem.log.child");
            Path data = tmp.resolve("shmem.data");
            int pid = workloads.start(log, Workloads.fixture("shmem").toString(), log.toString(), data.toString());
            int child = Integer.parseInt(Workloads.awaitLog(log, TIMEOUT, "child", l -> l.stream().anyMatch(s -> s.startsWith("child ")))
                    .stream().filter(s -> s.startsWith("child ")).findFirst().orElseThrow().substring("child ".length()).trim());
            workloads.adopt(child);
            Workloads.awaitLog(log, TIMEOUT, "parent ticks", l -> TickLog.lastTick(l) >= 3);
            Workloads.awaitLog(childLog, TIMEOUT, "child ticks", l -> TickLog.lastTick(l) >= 3);
            Map<String, Long> objectsBefore = shmemInodes(procfs, pid);

            for (int cycle = 0; cycle < 2; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                Workloads.awaitGone(child);
                long parentAt = TickLog.lastTick(Workloads.lines(log));
                long childAt = TickLog.lastTick(Workloads.lines(childLog));
                checkImages(ImageSet.open(images), pid, child);

                assertEquals(pid, new Restorer().restore(RestoreOptions.of(images)).pid());
                workloads.adopt(child);

                // The counters at dump may be one tick ahead of the log (stored, then logged): beyond that, the value
                // can only come from a write the other process made after the restore.
                awaitOtherWrites(log, parentAt, childAt + 1, "the parent sees the child's writes made after the restore");
                awaitOtherWrites(childLog, childAt, parentAt + 1, "the child sees the parent's writes made after the restore");
                assertTrue(awaitFileCounter(data, 8, childAt + 1) > childAt + 1, "the child's writes to the shared file mapping reach the file");
                assertTrue(awaitFileCounter(data, 16, parentAt + 1) > parentAt + 1,
                        "the read-only shared view of a file open for writing can still be made writable (VM_MAYWRITE)");
                TickLog.assertConsecutive(Workloads.lines(log));
                TickLog.assertConsecutive(Workloads.lines(childLog));

                Map<String, Long> parentObjects = shmemInodes(procfs, pid);
                Map<String, Long> childObjects = shmemInodes(procfs, child);
                assertEquals(objectsBefore.keySet(), parentObjects.keySet(), "the parent maps the same kinds of object");
                assertEquals(parentObjects.get("/dev/zero (deleted)@0x10000"), childObjects.get("/dev/zero (deleted)@0x10000"),
                        "parent and child map one shared anonymous object");
                assertEquals(parentObjects.get("/memfd:jm-shm (deleted)"), childObjects.get("/memfd:jm-shm (deleted)"),
                        "parent and child map one memfd");
                assertEquals(parentObjects.get("/memfd:jm-shm (deleted)"), fdInode(pid, 20), "the memfd fd and its mappings are one object");
                assertEquals(fdInode(pid, 20), fdInode(child, 20), "both processes hold the same memfd");
            }
        }
    }

    @Test
    void memorySharedWithAProcessOutsideTheTreeIsRefused() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("shmem.log");
            int pid = workloads.start(log, Workloads.fixture("shmem").toString(), log.toString(), tmp.resolve("shmem.data").toString());
            int child = Integer.parseInt(Workloads.awaitLog(log, TIMEOUT, "child", l -> l.stream().anyMatch(s -> s.startsWith("child ")))
                    .stream().filter(s -> s.startsWith("child ")).findFirst().orElseThrow().substring("child ".length()).trim());
            workloads.adopt(child);
            Path childLog = tmp.resolve("shmem.log.child");
            Workloads.awaitLog(childLog, TIMEOUT, "child ticks", l -> TickLog.lastTick(l) >= 2);
            Path images = tmp.resolve("images");
            // the child alone: its parent keeps using the memory they share
            DumpRefusedException e = assertThrows(DumpRefusedException.class, () -> new Dumper().dump(DumpOptions.of(child, images)));
            assertTrue(e.getMessage().contains("of PID " + child + " is shared memory (inode "), e.getMessage());
            assertTrue(e.getMessage().contains("that PID " + pid + ", outside the dumped tree, uses too"), e.getMessage());
            long at = TickLog.lastTick(Workloads.lines(childLog));
            TickLog.assertConsecutive(Workloads.awaitLog(childLog, TIMEOUT, "child ticks after the refusal", l -> TickLog.lastTick(l) >= at + 3));
            assertThrows(ImageException.class, () -> ImageSet.open(images), "no image set is left behind");
        }
    }

    @Test
    void sysvSharedMemoryIsRefusedByShmid() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("sysv.log");
            int pid = workloads.start(log, Workloads.fixture("shmem").toString(), log.toString(), "sysv");
            String shmid = Workloads.awaitLog(log, TIMEOUT, "shmid", l -> l.stream().anyMatch(s -> s.startsWith("sysv shmid ")))
                    .stream().filter(s -> s.startsWith("sysv shmid ")).findFirst().orElseThrow().substring("sysv shmid ".length()).trim();
            Workloads.awaitLog(log, TIMEOUT, "ticks", l -> TickLog.lastTick(l) >= 2);
            Path images = tmp.resolve("images");
            DumpRefusedException e = assertThrows(DumpRefusedException.class, () -> new Dumper().dump(DumpOptions.of(pid, images)));
            assertTrue(e.getMessage().contains("SysV shared memory segment key 0x00000000 shmid " + shmid + ";"), e.getMessage());
            assertTrue(e.getMessage().contains("PID " + pid), e.getMessage());
            long at = TickLog.lastTick(Workloads.lines(log));
            TickLog.assertConsecutive(Workloads.awaitLog(log, TIMEOUT, "ticks after the refusal", l -> TickLog.lastTick(l) >= at + 3));
            assertThrows(ImageException.class, () -> ImageSet.open(images), "no image set is left behind");
        }
    }

    @Test
    void hugePageMemfdIsRefused() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("huge.log");
            int pid = workloads.start(log, Workloads.fixture("shmem").toString(), log.toString(), "hugetlb");
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "hugetlb memfd",
                    l -> l.contains("no hugetlb") || TickLog.lastTick(l) >= 2);
            org.junit.jupiter.api.Assumptions.assumeFalse(lines.contains("no hugetlb"), "memfd_create(MFD_HUGETLB) fails here");
            String fd = lines.stream().filter(l -> l.startsWith("hugetlb fd ")).findFirst().orElseThrow().substring("hugetlb fd ".length());
            Path images = tmp.resolve("images");
            DumpRefusedException e = assertThrows(DumpRefusedException.class, () -> new Dumper().dump(DumpOptions.of(pid, images)));
            assertTrue(e.getMessage().startsWith("fd " + fd + " of PID " + pid + " (/memfd:jm-huge (deleted)) is shared memory on hugetlbfs"), e.getMessage());
            long at = TickLog.lastTick(Workloads.lines(log));
            TickLog.assertConsecutive(Workloads.awaitLog(log, TIMEOUT, "ticks after the refusal", l -> TickLog.lastTick(l) >= at + 3));
            assertThrows(ImageException.class, () -> ImageSet.open(images), "no image set is left behind");
        }
    }

    /** The parent owns every object it uses (it is dumped first); the child only the one it made itself. */
    private static void checkImages(ImageSet set, int pid, int child) {
        MmImage mm = set.mm(pid);
        Map<ShmemKind, List<ShmemObject>> byKind = mm.getShmemObjectsList().stream().collect(Collectors.groupingBy(ShmemObject::getKind));
        assertEquals(2, byKind.get(ShmemKind.SHMEM_ANON).size(), "ANON and ANON2: " + mm.getShmemObjectsList());
        List<ShmemObject> childOwns = set.mm(child).getShmemObjectsList();
        assertEquals(1, childOwns.size(), "each object is dumped once, by its first user: the child only its own " + childOwns);
        assertEquals(2 * PAGE, childOwns.getFirst().getSize());
        ShmemObject anon = byKind.get(ShmemKind.SHMEM_ANON).stream().filter(o -> o.getSize() == 16 * PAGE).findFirst().orElseThrow();
        assertEquals(13 * PAGE, anon.getRunsList().stream().mapToLong(ShmemRun::getLength).sum(),
                "pages 0-12 (written, or read: a read fault allocates shmem pages) are dumped, pages 13-15 (never touched) are not");
        Map<String, ShmemObject> memfds = byKind.get(ShmemKind.SHMEM_MEMFD).stream()
                .collect(Collectors.toMap(ShmemObject::getName, o -> o));
        assertEquals(Set.of("jm-shm", "jm-fdonly", "jm-maponly"), memfds.keySet(), "held as fd and mapped, as fd only, mapped only");
        ShmemObject fdOnly = memfds.get("jm-fdonly");
        assertEquals(4196, fdOnly.getSize());
        assertEquals(1, fdOnly.getSeals(), "created without MFD_ALLOW_SEALING: F_SEAL_SEAL");
        assertEquals(0600, fdOnly.getMode());
        ShmemObject memfd = memfds.get("jm-shm");
        assertEquals("jm-shm", memfd.getName());
        assertEquals(8 * PAGE, memfd.getSize());
        assertEquals(2 | 4, memfd.getSeals(), "F_SEAL_SHRINK | F_SEAL_GROW");
        for (int p : List.of(pid, child)) {
            FdEntry fd = set.fds(p).getFdsList().stream().filter(f -> f.getFd() == 20).findFirst().orElseThrow();
            assertEquals(FdKind.FD_MEMFD, fd.getKind());
            assertEquals(memfd.getInode(), fd.getInode());
            assertEquals(123, fd.getPos());
        }
        assertEquals(set.fds(pid).getFdsList().stream().filter(f -> f.getFd() == 20).findFirst().orElseThrow().getMemfdFile(),
                set.fds(child).getFdsList().stream().filter(f -> f.getFd() == 20).findFirst().orElseThrow().getMemfdFile(),
                "the inherited memfd descriptor is one open file");
    }

    /** Waits for a tick after {@code logAt} in which both counters of the other process exceed {@code otherAt}. */
    private static void awaitOtherWrites(Path log, long logAt, long otherAt, String what) {
        Workloads.awaitLog(log, TIMEOUT, what + " (beyond " + otherAt + ")", lines -> lines.stream().anyMatch(l -> {
            Matcher m = TICK.matcher(l);
            return m.matches() && Long.parseLong(m.group(1)) > logAt
                    && Long.parseLong(m.group(2)) > otherAt && Long.parseLong(m.group(3)) > otherAt;
        }));
    }

    private static long awaitFileCounter(Path data, int offset, long beyond) throws IOException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            long value = ByteBuffer.wrap(Files.readAllBytes(data)).order(ByteOrder.LITTLE_ENDIAN).getLong(offset);
            if (value > beyond || System.nanoTime() > deadline) return value;
            Thread.onSpinWait();
        }
    }

    /** Shmem objects mapped by {@code pid}: name (with the size for shared anonymous memory) to inode. */
    private static Map<String, Long> shmemInodes(ProcFs procfs, int pid) {
        Map<String, Long> out = new TreeMap<>();
        for (MapsEntry m : procfs.maps(pid)) {
            if (m.name().startsWith("/memfd:")) out.put(m.name(), m.inode());
            else if (m.name().equals("/dev/zero (deleted)")) out.put(m.name() + "@0x" + Long.toHexString(m.length()), m.inode());
        }
        return out;
    }

    private static long fdInode(int pid, int fd) {
        try {
            return (Long) Files.readAttributes(Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd)), "unix:ino").get("ino");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
