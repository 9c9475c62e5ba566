package io.jmigrate.engine;

import io.jmigrate.engine.compel.Freezer;
import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpRefusedException;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.UnixSocketState;
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
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CPython and a multiprocessing child talking over one duplex {@code multiprocessing.Pipe()} — a unix socket pair
 * whose ends the two processes hold, one each — survive two dump/restore cycles. The parent keeps three requests
 * outstanding, so some message is always queued on the pair when it is frozen.
 */
class PythonDuplexPipeTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final int IN_FLIGHT = 3;
    private static final String SCRIPT = """
            import os, sys, time, multiprocessing as mp
            log = open(sys.argv[1], 'a', buffering=1)
            def child_main(conn, other):
                other.close()                      # the child keeps only its end
                while True:
                    n = conn.recv()
                    conn.send(n * n)
            if __name__ == '__main__':
                mp.set_start_method('fork')
                mine, theirs = mp.Pipe(duplex=True)
                child = mp.Process(target=child_main, args=(theirs, mine), daemon=True)
                child.start()
                theirs.close()                     # the parent keeps only its end
                log.write(f"start pid {os.getpid()} child {child.pid}\\n")
                sent = 0
                for _ in range(%d):
                    sent += 1
                    mine.send(sent)
                step = 0
                while True:
                    step += 1
                    reply = mine.recv()
                    if reply != step * step:
                        log.write(f"CORRUPT reply {reply} to {step}\\n"); sys.exit(3)
                    log.write(f"tick {step}\\n")
                    time.sleep(0.01)
                    sent += 1
                    mine.send(sent)
            """.formatted(IN_FLIGHT);

    /** The same over a SOCK_DGRAM pair from socket.socketpair and os.fork: message boundaries must hold. */
    private static final String DGRAM_SCRIPT = """
            import os, sys, time, socket
            log = open(sys.argv[1], 'a', buffering=1)
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            child = os.fork()
            if child == 0:
                mine.close()
                while True:
                    n = int(theirs.recv(64))
                    theirs.send(str(n * n).encode())
            fd = theirs.fileno()
            theirs.close()
            log.write(f"start pid {os.getpid()} child {child} fd {fd}\\n")
            sent = 0
            for _ in range(%d):
                sent += 1
                mine.send(str(sent).encode())
            step = 0
            while True:
                step += 1
                reply = int(mine.recv(64))
                if reply != step * step:
                    log.write(f"CORRUPT reply {reply} to {step}\\n"); sys.exit(3)
                log.write(f"tick {step}\\n")
                time.sleep(0.01)
                sent += 1
                mine.send(str(sent).encode())
            """.formatted(IN_FLIGHT);

    @TempDir
    Path tmp;

    @Test
    void datagramPairSplitAcrossProcessesIsRefusedForTheChildAloneAndSurvivesForTheTree() throws IOException {
        Path script = Files.writeString(tmp.resolve("dgram.py"), DGRAM_SCRIPT);
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("dgram.log");
            int pid = workloads.start(log.resolveSibling("dgram.out"), "/usr/bin/python3", "-I", script.toString(), log.toString());
            List<String> started = Workloads.awaitLog(log, TIMEOUT, "ticks", l -> TickLog.lastTick(l) >= 3);
            int child = Integer.parseInt(started.getFirst().replaceAll(".*child (\\d+).*", "$1"));
            int fd = Integer.parseInt(started.getFirst().replaceAll(".*fd (\\d+).*", "$1"));
            workloads.adopt(child);

            // The child alone: its socket's peer is in its parent, outside the dumped tree.
            DumpRefusedException refused = assertThrows(DumpRefusedException.class,
                    () -> new Dumper().dump(DumpOptions.of(child, tmp.resolve("child-only"))));
            assertTrue(refused.getMessage().contains("fd " + fd + " of PID " + child + " is one end of a unix socket pair"),
                    refused.getMessage());
            assertTrue(refused.getMessage().contains("belongs to a process outside the dumped tree"), refused.getMessage());
            assertFalse(Files.exists(tmp.resolve("child-only").resolve("inventory.img")), "no image set left behind");
            long before = TickLog.lastTick(Workloads.lines(log));
            Workloads.awaitLog(log, TIMEOUT, "ticks after the refusal", l -> TickLog.lastTick(l) >= before + 3);

            for (int cycle = 0; cycle < 2; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                Workloads.awaitGone(child);
                List<UnixSocketState> states = assertPairSplit(ImageSet.open(images), pid, child);
                assertTrue(states.stream().anyMatch(s -> s.getQueuedMessagesCount() > 0),
                        "with " + IN_FLIGHT + " requests outstanding, some datagram is queued on the pair: " + states);
                long ticks = TickLog.lastTick(Workloads.lines(log));
                assertEquals(pid, new Restorer().restore(RestoreOptions.of(images)).pid());
                assertTrue(Workloads.alive(child), "the forked child is back");
                List<String> after = Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 3);
                TickLog.assertConsecutive(after);
            }
            assertEquals("", Files.readString(log.resolveSibling("dgram.out")), "python printed no error");
        }
    }

    @Test
    void socketPairBetweenParentAndChildSurvivesTwoCycles() throws IOException {
        Path script = Files.writeString(tmp.resolve("duplex.py"), SCRIPT);
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("duplex.log");
            int pid = workloads.start(log.resolveSibling("duplex.out"), "/usr/bin/python3", "-I", script.toString(), log.toString());
            List<String> started = Workloads.awaitLog(log, TIMEOUT, "ticks", l -> TickLog.lastTick(l) >= 3);
            int child = Integer.parseInt(started.getFirst().replaceAll(".*child (\\d+).*", "$1"));
            workloads.adopt(child);
            List<Integer> tids = Freezer.threadIds(pid);
            for (int cycle = 0; cycle < 2; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                Workloads.awaitGone(child);
                List<UnixSocketState> states = assertPairSplit(ImageSet.open(images), pid, child);
                assertFalse(states.stream().allMatch(s -> s.getQueuedStream().isEmpty()),
                        "with " + IN_FLIGHT + " requests outstanding, something is queued on the pair: " + states);
                long ticks = TickLog.lastTick(Workloads.lines(log));
                assertEquals(pid, new Restorer().restore(RestoreOptions.of(images)).pid());
                assertTrue(Workloads.alive(child), "the multiprocessing child is back");
                assertEquals(tids, Freezer.threadIds(pid), "threads back with their TIDs");
                List<String> after = Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 3);
                TickLog.assertConsecutive(after);
            }
            assertEquals("", Files.readString(log.resolveSibling("duplex.out")), "python printed no error");
        }
    }

    /** The images hold one socket pair, one end per process, each end recorded once; returns the two states. */
    private static List<UnixSocketState> assertPairSplit(ImageSet images, int pid, int child) {
        FdTable parentFds = images.fds(pid), childFds = images.fds(child);
        Set<Long> parentSockets = socketInodes(parentFds), childSockets = socketInodes(childFds);
        assertEquals(1, parentSockets.size(), "the parent holds one socket: " + parentFds.getFdsList());
        assertEquals(1, childSockets.size(), "the child holds one socket: " + childFds.getFdsList());
        List<UnixSocketState> states = java.util.stream.Stream.concat(parentFds.getUnixSocketsList().stream(),
                childFds.getUnixSocketsList().stream()).toList();
        assertEquals(2, states.size(), "each end recorded once: " + states);
        UnixSocketState parentEnd = states.stream().filter(s -> parentSockets.contains(s.getInode())).findFirst().orElseThrow();
        assertEquals(childSockets.iterator().next(), parentEnd.getPeerInode(), "the parent's peer is the child's socket");
        return states;
    }

    private static Set<Long> socketInodes(FdTable fds) {
        return fds.getFdsList().stream().filter(f -> f.getKind() == FdKind.FD_UNIX_SOCKET).map(FdEntry::getInode)
                .collect(Collectors.toSet());
    }
}
