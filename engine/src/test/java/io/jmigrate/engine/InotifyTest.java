package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpRefusedException;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.InotifyWatch;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An inotify instance comes back with its watches (paths found through the file handles fdinfo shows) and their
 * watch descriptors 1, 3 and 9, which a fresh instance would number 1, 2, 3: files created after restore are
 * reported under the old wds. An instance with an unread event is refused, and the process runs on.
 */
class InotifyTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final int IN_CREATE = 0x100, IN_DELETE = 0x200;

    @TempDir
    Path tmp;

    @Test
    void watchesComeBackWithTheirDescriptors() throws IOException {
        try (Workloads workloads = new Workloads()) {
            Path dir = Files.createDirectory(tmp.resolve("watched"));
            Path log = tmp.resolve("inotify.log");
            int pid = workloads.start(log, Workloads.fixture("inotifywatch").toString(), dir.toString(), log.toString());
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.contains("ready wd a 1 c 3 d 9") || l.stream().anyMatch(s -> s.startsWith("CORRUPT")));
            Files.createFile(dir.resolve("a/before"));
            Workloads.awaitLog(log, TIMEOUT, "the event before the dump", l -> l.contains("event wd 1 mask 100 name before"));

            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            long ignoredAtDump = Workloads.lines(log).stream().filter(s -> s.contains(" mask 8000 ")).count();
            FdEntry inotify = ImageSet.open(images).fds(pid).getFdsList().stream()
                    .filter(f -> f.getKind() == FdKind.FD_INOTIFY).findFirst().orElseThrow();
            List<InotifyWatch> watches = inotify.getInotify().getWatchesList();
            assertEquals(List.of(1, 3, 9), watches.stream().map(InotifyWatch::getWd).toList());
            assertEquals(List.of(dir.resolve("a").toString(), dir.resolve("c").toString(), dir.resolve("d").toString()),
                    watches.stream().map(InotifyWatch::getPath).toList());
            assertEquals(IN_CREATE | IN_DELETE, watches.getFirst().getMask());

            workloads.adopt(new Restorer().restore(RestoreOptions.of(images)).pid());
            Files.createFile(dir.resolve("a/x"));
            Files.createFile(dir.resolve("c/y"));
            Files.createFile(dir.resolve("d/z"));
            Files.createFile(dir.resolve("b/unwatched"));
            Files.delete(dir.resolve("a/x"));
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "the events after restore",
                    l -> l.contains("event wd 1 mask 200 name x"));
            assertTrue(lines.containsAll(List.of("event wd 1 mask 100 name x", "event wd 3 mask 100 name y",
                    "event wd 9 mask 100 name z")), lines::toString);
            assertFalse(lines.stream().anyMatch(s -> s.contains("name unwatched")), "b's watches were removed");
            assertEquals(ignoredAtDump, lines.stream().filter(s -> s.contains(" mask 8000 ")).count(),
                    "no IN_IGNORED from the restore's own watch juggling");
            TickLog.assertConsecutive(lines);
        }
    }

    @Test
    void queuedEventsAreRefusedAndTheProcessRunsOn() throws IOException {
        try (Workloads workloads = new Workloads()) {
            Path dir = Files.createDirectory(tmp.resolve("watched"));
            Path log = tmp.resolve("inotify-queued.log");
            int pid = workloads.start(log, Workloads.fixture("inotifywatch").toString(), dir.toString(), log.toString(), "queued");
            Workloads.awaitLog(log, TIMEOUT, "2 ticks", l -> TickLog.lastTick(l) >= 2);
            Path images = tmp.resolve("images");
            DumpRefusedException e = assertThrows(DumpRefusedException.class, () -> new Dumper().dump(DumpOptions.of(pid, images)));
            assertTrue(e.getMessage().matches("fd \\d+ of PID " + pid + " is an inotify instance with \\d+ bytes of events not"
                    + " read yet; queued inotify events cannot be restored"), e.getMessage());
            assertFalse(Files.exists(images.resolve("inventory.img")));
            long ticks = TickLog.lastTick(Workloads.lines(log));
            Workloads.awaitLog(log, TIMEOUT, "ticks after the refusal", l -> TickLog.lastTick(l) >= ticks + 3);
        }
    }
}
