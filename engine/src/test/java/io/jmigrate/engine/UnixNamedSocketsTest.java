package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpRefusedException;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.UnixSocketState;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Named unix sockets: a listener on a path and one on an abstract name come back bound to the same names with their
 * backlogs (a new client connects to the path and is answered; the program connects to its abstract listener
 * itself), and the connection a child made to the path listener, accepted before the dump, carries on as a pair.
 */
class UnixNamedSocketsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void listenersAndAnAcceptedConnectionComeBack() throws IOException {
        try (Workloads workloads = new Workloads()) {
            Path dir = Files.createDirectory(tmp.resolve("sockets"));
            Path socketFile = dir.resolve("server.sock");
            Path log = tmp.resolve("unixserver.log");
            int pid = workloads.start(log, Workloads.fixture("unixserver").toString(), dir.toString(), log.toString());
            List<String> started = Workloads.awaitLog(log, TIMEOUT, "3 ticks over the accepted connection", l -> TickLog.lastTick(l) >= 3);
            int child = Integer.parseInt(started.stream().filter(s -> s.startsWith("child ")).findFirst().orElseThrow().split(" ")[1]);
            workloads.adopt(child);
            assertEquals("pong before", ask(socketFile, "before"));
            // the program's end of that connection is gone once it saw the hang-up (with no peer it would be refused)
            Workloads.awaitLog(log, TIMEOUT, "the guest to be closed", l -> l.contains("guest gone"));

            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            Workloads.awaitGone(child);
            assertTrue(Files.exists(socketFile), "the dead listener's socket file stays behind");
            long ticksAtDump = TickLog.lastTick(Workloads.lines(log));

            List<UnixSocketState> listeners = ImageSet.open(images).fds(pid).getUnixSocketsList().stream()
                    .filter(UnixSocketState::getListening).toList();
            assertEquals(2, listeners.size(), listeners::toString);
            UnixSocketState onPath = listeners.stream().filter(s -> s.getName().equals(socketFile.toString())).findFirst().orElseThrow();
            assertEquals(7, onPath.getBacklog());
            assertEquals(0660, onPath.getFileMode());
            UnixSocketState onAbstract = listeners.stream().filter(s -> s.getName().startsWith("@")).findFirst().orElseThrow();
            assertEquals("@jmigrate-unixserver-" + pid, onAbstract.getName());
            assertEquals(3, onAbstract.getBacklog());
            assertEquals(5, onAbstract.getType(), "SOCK_SEQPACKET");

            int restored = new Restorer().restore(RestoreOptions.of(images)).pid();
            workloads.adopt(restored);
            assertEquals(pid, restored);
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socketFile)), "the socket file's mode");
            Workloads.awaitLog(log, TIMEOUT, "5 more ticks over the restored connection", l -> TickLog.lastTick(l) >= ticksAtDump + 5);
            assertEquals("pong after", ask(socketFile, "after"), "a new client is accepted on the same path");

            Signals.kill(pid, Signals.SIGUSR1);
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "the program's own check",
                    l -> l.stream().anyMatch(s -> s.startsWith("path name") || s.startsWith("CORRUPT")));
            assertTrue(lines.contains("abstract ok jmigrate-unixserver-" + pid), lines::toString);
            assertTrue(lines.contains("path name " + socketFile), lines::toString);
            TickLog.assertConsecutive(Workloads.lines(log));
        }
    }

    @Test
    void listenerWithAConnectionWaitingToBeAcceptedIsRefused() throws IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("holder.log");
            int pid = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), "unixlisten");
            Workloads.awaitLog(log, TIMEOUT, "3 ticks", l -> TickLog.lastTick(l) >= 3);
            try (SocketChannel waiting = SocketChannel.open(UnixDomainSocketAddress.of(tmp.resolve("holder.sock")))) {
                Path images = tmp.resolve("images");
                DumpRefusedException e = assertThrows(DumpRefusedException.class, () -> new Dumper().dump(DumpOptions.of(pid, images)));
                assertTrue(e.getMessage().startsWith("fd ") && e.getMessage().contains(" of PID " + pid + " is a unix SOCK_STREAM socket")
                        && e.getMessage().contains("listening on holder.sock with 1 connection(s) waiting to be accepted"), e.getMessage());
                assertFalse(Files.exists(images.resolve("inventory.img")));
                assertTrue(waiting.isConnected());
            }
            long ticks = TickLog.lastTick(Workloads.lines(log));
            Workloads.awaitLog(log, TIMEOUT, "ticks after the refusal", l -> TickLog.lastTick(l) >= ticks + 3);
        }
    }

    @Test
    void datagramServersKeepTheirNamesAndQueues() throws Exception {
        try (Workloads workloads = new Workloads()) {
            Path dir = Files.createDirectory(tmp.resolve("dgram"));
            Path socketFile = dir.resolve("dgram.sock");
            Path log = tmp.resolve("dgramserver.log");
            int pid = workloads.start(log, Workloads.fixture("dgramserver").toString(), dir.toString(), log.toString());
            Workloads.awaitLog(log, TIMEOUT, "2 ticks", l -> TickLog.lastTick(l) >= 2);
            String abstractName = "jmigrate-dgram-" + pid;
            send(socketFile.toString(), "one", "two", "three");
            send("\0" + abstractName, "abs");

            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            List<UnixSocketState> bound = ImageSet.open(images).fds(pid).getUnixSocketsList();
            UnixSocketState onPath = bound.stream().filter(b -> b.getName().equals(socketFile.toString())).findFirst().orElseThrow();
            assertFalse(onPath.getListening());
            assertEquals(List.of("one", "two", "three"), onPath.getQueuedMessagesList().stream().map(b -> b.toStringUtf8()).toList());

            workloads.adopt(new Restorer().restore(RestoreOptions.of(images)).pid());
            send(socketFile.toString(), "four");                       // bound to the same path again
            Signals.kill(pid, Signals.SIGUSR1);
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "the queues drained", l -> l.contains("drained"));
            assertEquals(List.of("path got one", "path got two", "path got three", "path got four", "abstract got abs"),
                    lines.stream().filter(l -> l.contains(" got ")).toList(), "the queued datagrams, in order, and a new one");
            TickLog.assertConsecutive(lines);
        }
    }

    /** holder binds "holder.sock", a name relative to its cwd: restored from that directory, with the same name. */
    @Test
    void relativeNameIsBoundAgainInItsDirectory() throws Exception {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("holder-bound.log");
            int pid = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), "unixbound");
            Workloads.awaitLog(log, TIMEOUT, "3 ticks", l -> TickLog.lastTick(l) >= 3);
            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            UnixSocketState bound = ImageSet.open(images).fds(pid).getUnixSocketsList().getFirst();
            assertEquals("holder.sock", bound.getName());
            assertEquals(tmp.toRealPath().toString(), bound.getBindDir());

            workloads.adopt(new Restorer().restore(RestoreOptions.of(images)).pid());
            send(tmp.resolve("holder.sock").toString(), "hello");     // refused (ECONNREFUSED) if nothing is bound there
            long ticks = TickLog.lastTick(Workloads.lines(log));
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 3);
            TickLog.assertConsecutive(lines);
        }
    }

    /** Sends datagrams to a unix socket with python3 (java.nio has no unix datagram channels); "\0name" is abstract. */
    private static void send(String address, String... messages) throws Exception {
        StringBuilder script = new StringBuilder("import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\n"
                + "a=sys.argv[1].replace('\\\\0','\\0')\nfor m in sys.argv[2:]: s.sendto(m.encode(),a)\n");
        List<String> cmd = new java.util.ArrayList<>(List.of("python3", "-c", script.toString(), address.replace("\0", "\\0")));
        cmd.addAll(List.of(messages));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), () -> "python3 sendto failed: " + out);
    }

    /** Sends one line to the listener at {@code path} and reads the one-line answer. */
    private static String ask(Path path, String line) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(path));
            c.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
            ByteBuffer answer = ByteBuffer.allocate(256);
            while (answer.position() == 0 || answer.get(answer.position() - 1) != '\n') {
                if (c.read(answer) < 0) break;
            }
            return new String(answer.array(), 0, answer.position(), StandardCharsets.UTF_8).strip();
        }
    }
}
