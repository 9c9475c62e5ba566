package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.FifoContents;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Named pipes between a parent and its child come back, reopened by path: the lines the child writes into one keep
 * reaching the parent, and the 3000 unread bytes buffered in the other are still there after restore.
 */
class FifosTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void fifosKeepTheirBytesAndBothEnds() throws Exception {
        try (Workloads workloads = new Workloads()) {
            Path dir = Files.createDirectory(tmp.resolve("fifos"));
            Path log = tmp.resolve("fifos.log");
            int pid = workloads.start(log, Workloads.fixture("fifos").toString(), dir.toString(), log.toString());
            List<String> started = Workloads.awaitLog(log, TIMEOUT, "3 ticks through the FIFO", l -> TickLog.lastTick(l) >= 3);
            int child = Integer.parseInt(started.stream().filter(s -> s.startsWith("child ")).findFirst().orElseThrow().split(" ")[1]);
            workloads.adopt(child);

            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            Workloads.awaitGone(child);
            long ticksAtDump = TickLog.lastTick(Workloads.lines(log));

            ImageSet set = ImageSet.open(images);
            FdTable parent = set.fds(pid);
            List<FdEntry> fifoFds = parent.getFdsList().stream().filter(f -> f.getKind() == FdKind.FD_FIFO).toList();
            assertEquals(3, fifoFds.size(), () -> "both ends of a and the read end of b: " + fifoFds);
            FifoContents a = parent.getFifosList().stream().filter(f -> f.getPath().equals(dir.resolve("a").toString()))
                    .findFirst().orElseThrow();
            assertEquals(3000, a.getData().size(), "the unread bytes of a");
            assertTrue(set.fds(child).getFdsList().stream().anyMatch(f -> f.getKind() == FdKind.FD_FIFO
                    && f.getPath().equals(dir.resolve("b").toString()) && (f.getFlags() & 3) == 1), "the child's write end of b");

            int restored = new Restorer().restore(RestoreOptions.of(images)).pid();
            workloads.adopt(restored);
            assertEquals(pid, restored);
            Workloads.awaitLog(log, TIMEOUT, "5 more ticks through the restored FIFO", l -> TickLog.lastTick(l) >= ticksAtDump + 5);

            Signals.kill(pid, Signals.SIGUSR1);
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "the check of a",
                    l -> l.stream().anyMatch(s -> s.startsWith("fifo a") || s.startsWith("CORRUPT")));
            // (next to them, a shared anonymous page, whose carriers come after the FIFO keepers', still shared)
            assertTrue(lines.contains("fifo a ok 3000 bytes"), () -> "the buffered bytes, unchanged: " + lines);
            Workloads.awaitLog(log, TIMEOUT, "the shared page check", l -> l.contains("shared ok"));
            TickLog.assertConsecutive(Workloads.lines(log));
            assertTrue(Workloads.alive(pid) && Workloads.alive(child));
        }
    }
}
