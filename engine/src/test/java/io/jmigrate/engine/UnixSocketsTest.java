package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpRefusedException;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageException;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.UnixSocketState;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Unix socket pairs the process holds both ends of come back connected, with what was queued in each direction
 * (bytes, datagram and record boundaries), their fd flags, options and shutdown state; every other socket is
 * refused and the process left running untouched.
 */
class UnixSocketsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final ProcFs PROC = new ProcFs();

    @TempDir
    Path tmp;

    @Test
    void socketPairsAndTheirQueuesSurviveDumpAndRestore() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("sockpair.log");
            int pid = workloads.start(log, Workloads.fixture("sockpair").toString(), log.toString());
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            for (int cycle = 0; cycle < 3; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                if (cycle == 0) assertQueuesInImages(pid, images);
                long ticks = TickLog.lastTick(Workloads.lines(log));

                int restored = new Restorer().restore(RestoreOptions.of(images)).pid();
                workloads.adopt(restored);
                assertEquals(pid, restored);
                List<String> after = tick(pid, log, ticks + 3);     // each tick checks the round queued before it
                assertTicksOk(after);
            }
        }
    }

    /** The images hold the four pairs, with round 0 queued as the fixture wrote it. */
    private static void assertQueuesInImages(int pid, Path images) {
        FdTable fds = ImageSet.open(images).fds(pid);
        List<FdEntry> sockets = fds.getFdsList().stream().filter(f -> f.getKind() == FdKind.FD_UNIX_SOCKET).toList();
        assertEquals(9, sockets.size(), "8 sockets, one of them at two fds: " + sockets);
        assertEquals(8, fds.getUnixSocketsCount());
        Map<Long, UnixSocketState> byInode = fds.getUnixSocketsList().stream()
                .collect(Collectors.toMap(UnixSocketState::getInode, s -> s));
        for (UnixSocketState s : fds.getUnixSocketsList()) {
            assertEquals(s.getInode(), byInode.get(s.getPeerInode()).getPeerInode(), "peers of each other");
        }
        Map<Integer, UnixSocketState> byFd = sockets.stream()
                .collect(Collectors.toMap(FdEntry::getFd, f -> byInode.get(f.getInode())));
        // the fixture's first four socketpairs take fds 4..11 (3 is its log), then fd 40 duplicates st[0]
        assertEquals(byFd.get(4).getInode(), byFd.get(40).getInode());
        assertEquals(200_000 + 10 + 1, byFd.get(5).getQueuedStream().size(), "st0->st1");
        assertEquals(50 + 7, byFd.get(4).getQueuedStream().size(), "st1->st0");
        assertEquals(List.of(0, 100, 3000, 1), sizes(byFd.get(7)), "dg0->dg1, a zero-length datagram first");
        assertEquals(List.of(60000, 5), sizes(byFd.get(6)), "dg1->dg0");
        assertEquals(List.of(0, 33, 4000), sizes(byFd.get(9)), "sq0->sq1");
        assertEquals(List.of(1, 2, 3), sizes(byFd.get(8)), "sq1->sq0");
        assertEquals("bye", byFd.get(11).getQueuedStream().toStringUtf8(), "hc0->hc1");
        assertEquals(2, byFd.get(10).getShutdown(), "hc[0] shut down for sending");
        assertEquals(1, byFd.get(11).getShutdown(), "and so hc[1] for receiving");
        assertEquals(0, byFd.get(8).getPeekOffset(), "sq[0] has SO_PEEK_OFF on");
        assertEquals(-1, byFd.get(9).getPeekOffset());
    }

    private static List<Integer> sizes(UnixSocketState s) {
        return s.getQueuedMessagesList().stream().map(com.google.protobuf.ByteString::size).toList();
    }

    /** A dump that leaves the process running changes nothing it can see, queues included. */
    @Test
    void leaveRunningDumpLeavesTheQueuesAlone() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("sockpair.log");
            int pid = workloads.start(log, Workloads.fixture("sockpair").toString(), log.toString());
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
            for (int i = 0; i < 3; i++) {
                new Dumper().dump(DumpOptions.of(pid, tmp.resolve("images-" + i)).leavingRunning(true));
                assertTicksOk(tick(pid, log, i + 1));
            }
            assertTrue(Workloads.alive(pid));
        }
    }

    // ---- refusals ------------------------------------------------------------------------------------------------

    /** What the holder fixture holds, and the words the refusal must say about it. */
    enum Refused {
        INET("socket", "is a TCP socket (socket:[", "AF_INET", "only listening TCP sockets are supported"),
        UNCONNECTED("unixdgram", "is a unix SOCK_DGRAM socket (socket:[", "with no peer",
                "only connected unix socket pairs are supported"),
        BOUND_IDLE_STREAM("unixstreambound", "is a unix SOCK_STREAM socket (socket:[", "bound to holder.sock",
                "with no peer", "supported only listening or connected"),
        PEER_OUTSIDE("connect", "is one end of a unix socket pair (socket:[", "belongs to a process outside the dumped tree",
                "unix sockets to outside processes are not supported yet"),
        FDS_IN_FLIGHT("scmrights", "file descriptors in flight (SCM_RIGHTS)", "passing descriptors is not supported yet"),
        URGENT_DATA("oob", "urgent (MSG_OOB) data queued", "out-of-band data is not supported yet");

        final String arg;
        final List<String> words;

        Refused(String arg, String... words) {
            this.arg = arg;
            this.words = List.of(words);
        }
    }

    @ParameterizedTest
    @EnumSource(Refused.class)
    void otherSocketsAreRefusedAndTheProcessRunsOn(Refused held) throws IOException {
        Path server = tmp.resolve("server.sock");
        try (Workloads workloads = new Workloads();
             ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(server));
            Path log = tmp.resolve("holder-" + held.arg + ".log");
            int pid = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), held.arg,
                    server.toString());
            SocketChannel accepted = held == Refused.PEER_OUTSIDE ? accept(listener) : null;
            try {
                Workloads.awaitLog(log, TIMEOUT, "3 ticks", l -> TickLog.lastTick(l) >= 3);
                Path images = tmp.resolve("images");
                DumpRefusedException e = assertThrows(DumpRefusedException.class,
                        () -> new Dumper().dump(DumpOptions.of(pid, images)));
                String message = e.getMessage();
                assertTrue(message.startsWith("fd "), message);
                assertTrue(message.contains(" of PID " + pid + " "), message);
                for (String w : held.words) assertTrue(message.contains(w), () -> "\"" + w + "\" missing from: " + message);
                assertFalse(message.contains("\n"), message);
                assertRunsUntouched(pid, log);
                ImageException none = assertThrows(ImageException.class, () -> ImageSet.open(images));
                assertTrue(none.getMessage().contains("does not exist") || none.getMessage().contains("no inventory.img"),
                        none.getMessage());
            } finally {
                if (accepted != null) accepted.close();
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private static SocketChannel accept(ServerSocketChannel listener) throws IOException {
        listener.configureBlocking(false);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        for (SocketChannel c; ; sleep(2)) {
            if ((c = listener.accept()) != null) return c;
            if (System.nanoTime() > deadline) throw new AssertionError("the holder never connected");
        }
    }

    /**
     * Sends SIGUSR1 until tick {@code target} is logged, one signal per tick (the fixture blocks SIGUSR1 outside
     * sigsuspend, so none is lost; one is sent again only if a tick has not come within a second).
     */
    private static List<String> tick(int pid, Path log, long target) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            List<String> lines = Workloads.lines(log);
            long last = TickLog.lastTick(lines);
            if (last >= target) return lines;
            assertFalse(lines.stream().anyMatch(l -> l.startsWith("CORRUPT")), () -> "corrupt: " + lines);
            assertTrue(Workloads.alive(pid), () -> "PID " + pid + " died; log: " + lines);
            if (System.nanoTime() > deadline) throw new AssertionError("no tick " + target + " in time; log: " + lines);
            Signals.kill(pid, Signals.SIGUSR1);
            long resend = System.nanoTime() + 1_000_000_000L;
            while (System.nanoTime() < resend && TickLog.lastTick(Workloads.lines(log)) == last && Workloads.alive(pid)) {
                sleep(2);
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted");
        }
    }

    /** Every tick checked its round and logged "ok", consecutively; nothing CORRUPT; started once. */
    private static void assertTicksOk(List<String> lines) {
        TickLog.assertConsecutive(lines);
        for (String l : lines) {
            if (l.startsWith("tick ")) assertTrue(l.endsWith(" ok"), l);
        }
    }

    /** Alive, no thread traced or stopped, and the log keeps ticking with consecutive ticks. */
    private static void assertRunsUntouched(int pid, Path log) {
        long ticks = TickLog.lastTick(Workloads.lines(log));
        List<String> after = Workloads.awaitLog(log, TIMEOUT, "5 more ticks", l -> TickLog.lastTick(l) >= ticks + 5);
        assertTrue(Workloads.alive(pid), "PID " + pid + " is still running");
        for (int tid : PROC.threads(pid)) {
            assertEquals(0, PROC.taskStatus(pid, tid).tracerPid(), "thread " + tid + " of " + pid + " is not traced");
            char state = PROC.taskStat(pid, tid).state();
            assertFalse(state == 't' || state == 'T', "thread " + tid + " of " + pid + " is not stopped: " + state);
        }
        TickLog.assertConsecutive(after);
        assertTrue(Files.exists(log));
    }
}
