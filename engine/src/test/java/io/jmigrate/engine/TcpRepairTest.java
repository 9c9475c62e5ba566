package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Established TCP connections (IPv4 and, where the host has it, IPv6) survive dump (kill) and restore with TCP
 * repair: the same client socket keeps talking to the same server process, without reconnecting, over two
 * cycles; bytes the server had not read at the dump are answered after the restore; --leave-running turns repair
 * mode off again and the connection carries on. The clients stay idle between dump and restore (no network lock).
 */
class TcpRepairTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    /** A client connection with a line reader; reads time out after 10 s. */
    private record Client(Socket socket, BufferedReader in) implements AutoCloseable {
        static Client connect(String host, int port) throws IOException {
            Socket s = new Socket();
            s.connect(new InetSocketAddress(InetAddress.getByName(host), port), 10_000);
            s.setSoTimeout(10_000);
            return new Client(s, new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)));
        }

        void send(String line) throws IOException {
            socket.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
        }

        String echo(String line) throws IOException {
            send(line);
            return in.readLine();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void connectionsSurviveTwoDumpRestoreCycles() throws IOException {
        try (Workloads workloads = new Workloads()) {
            int port = freePort();
            Path log = tmp.resolve("echo.log");
            int pid = workloads.start(log, Workloads.fixture("echoserver").toString(), log.toString(), Integer.toString(port));
            boolean v6 = awaitReady(log).endsWith("v6 yes");
            try (Client c4 = Client.connect("127.0.0.1", port); Client c6 = v6 ? Client.connect("::1", port) : null) {
                assertEquals("echo hello from " + pid, c4.echo("hello"));
                if (v6) assertEquals("echo hello6 from " + pid, c6.echo("hello6"));
                for (int cycle = 0; cycle < 2; cycle++) {
                    Path images = tmp.resolve("images-" + cycle);
                    new Dumper().dump(DumpOptions.of(pid, images));
                    Workloads.awaitGone(pid);
                    List<FdEntry> conns = ImageSet.open(images).fds(pid).getFdsList().stream()
                            .filter(f -> f.getKind() == FdKind.FD_TCP_CONN).toList();
                    assertEquals(v6 ? 2 : 1, conns.size(), "connections in the images: " + conns);
                    for (FdEntry c : conns) assertTrue(c.getTcpConn().getMss() > 0, "MSS: " + c);
                    int restored = new Restorer().restore(RestoreOptions.of(images)).pid();
                    workloads.adopt(restored);
                    assertEquals(pid, restored);
                    assertEquals("echo again" + cycle + " from " + pid, c4.echo("again" + cycle));
                    if (v6) assertEquals("echo v6-" + cycle + " from " + pid, c6.echo("v6-" + cycle));
                    // the restored listeners still accept new connections next to the repaired ones
                    long closedBefore = closedCount(log);
                    try (Client fresh = Client.connect("127.0.0.1", port)) {
                        assertEquals("echo fresh" + cycle + " from " + pid, fresh.echo("fresh" + cycle));
                    }
                    // the next dump must not find the server's end of that connection half-closed (CLOSE_WAIT is
                    // refused): wait until the server has read the EOF and closed it
                    Workloads.awaitLog(log, Duration.ofSeconds(30), "the server closing the fresh connection",
                            l -> closedCount(l) > closedBefore);
                }
            }
        }
    }

    /**
     * The network lock: a line the client sends while the server is dumped and not yet restored is neither lost
     * nor answered with a reset; it is retransmitted and answered once the restore lifts the lock.
     */
    @Test
    void aLineSentBetweenDumpAndRestoreIsAnsweredAfterTheRestore() throws IOException {
        Assumptions.assumeTrue(java.nio.file.Files.isExecutable(Path.of("/usr/sbin/nft")), "nftables is installed by .ci/run");
        try (Workloads workloads = new Workloads()) {
            int port = freePort();
            Path log = tmp.resolve("echo.log");
            int pid = workloads.start(log, Workloads.fixture("echoserver").toString(), log.toString(), Integer.toString(port));
            awaitReady(log);
            try (Client c = Client.connect("127.0.0.1", port)) {
                c.socket().setSoTimeout(30_000);
                assertEquals("echo before from " + pid, c.echo("before"));
                Path images = tmp.resolve("images");
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                c.send("in-between");                    // nobody holds the port now: only the lock saves it
                workloads.adopt(new Restorer().restore(RestoreOptions.of(images)).pid());
                assertEquals("echo in-between from " + pid, c.in().readLine(), "retransmitted and answered");
                assertEquals("echo after from " + pid, c.echo("after"));
            }
        }
    }

    @Test
    void bytesNotReadAtTheDumpAreAnsweredAfterTheRestore() throws Exception {
        try (Workloads workloads = new Workloads()) {
            int port = freePort();
            Path log = tmp.resolve("hold.log");
            int pid = workloads.start(log, Workloads.fixture("echoserver").toString(), log.toString(),
                    Integer.toString(port), "hold");
            awaitReady(log);
            try (Client c = Client.connect("127.0.0.1", port)) {
                Workloads.awaitLog(log, TIMEOUT, "accepted", l -> l.stream().anyMatch(s -> s.startsWith("accepted")));
                c.send("early");
                awaitReceiveQueue(port, "early\n".length());
                Path images = tmp.resolve("images");
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                FdEntry conn = ImageSet.open(images).fds(pid).getFdsList().stream()
                        .filter(f -> f.getKind() == FdKind.FD_TCP_CONN).findFirst().orElseThrow();
                assertEquals("early\n", conn.getTcpConn().getInq().toStringUtf8(), "the unread bytes are in the image");
                int restored = new Restorer().restore(RestoreOptions.of(images)).pid();
                workloads.adopt(restored);
                new ProcessBuilder("kill", "-USR1", Integer.toString(pid)).start().waitFor();
                assertEquals("echo early from " + pid, c.in().readLine());
                assertEquals("echo late from " + pid, c.echo("late"));
            }
        }
    }

    @Test
    void leaveRunningTurnsRepairOffAndTheConnectionCarriesOn() throws IOException {
        try (Workloads workloads = new Workloads()) {
            int port = freePort();
            Path log = tmp.resolve("running.log");
            int pid = workloads.start(log, Workloads.fixture("echoserver").toString(), log.toString(), Integer.toString(port));
            awaitReady(log);
            try (Client c = Client.connect("127.0.0.1", port)) {
                assertEquals("echo before from " + pid, c.echo("before"));
                new Dumper().dump(DumpOptions.of(pid, tmp.resolve("images")).leavingRunning(true));
                assertTrue(Workloads.alive(pid));
                assertEquals("echo after from " + pid, c.echo("after"));
            }
        }
    }

    @Test
    void aConnectionClosedByThePeerIsRefusedAndTheProcessRunsOn() throws Exception {
        try (Workloads workloads = new Workloads()) {
            int port = freePort();
            Path log = tmp.resolve("closewait.log");
            int pid = workloads.start(log, Workloads.fixture("echoserver").toString(), log.toString(),
                    Integer.toString(port), "hold");
            awaitReady(log);
            Client c = Client.connect("127.0.0.1", port);
            Workloads.awaitLog(log, TIMEOUT, "accepted", l -> l.stream().anyMatch(s -> s.startsWith("accepted")));
            c.close();                                  // the server does not read: its end stays in CLOSE_WAIT
            awaitServerState(port, "08");
            Path images = tmp.resolve("images");
            io.jmigrate.engine.dump.DumpRefusedException e = org.junit.jupiter.api.Assertions.assertThrows(
                    io.jmigrate.engine.dump.DumpRefusedException.class, () -> new Dumper().dump(DumpOptions.of(pid, images)));
            String m = e.getMessage();
            assertTrue(m.contains("of PID " + pid) && m.contains("state CLOSE_WAIT")
                    && m.contains("only connections in state ESTABLISHED are supported"), m);
            assertTrue(!Files.exists(images), "no images left behind");
            assertTrue(Workloads.alive(pid));
            try (Client again = Client.connect("127.0.0.1", port)) {
                new ProcessBuilder("kill", "-USR1", Integer.toString(pid)).start().waitFor();
                assertEquals("echo still from " + pid, again.echo("still"));
            }
        }
    }

    /** Waits until a socket on local port {@code port} of 127.0.0.1 is in TCP state {@code st} (hex). */
    private static void awaitServerState(int port, String st) throws Exception {
        String local = String.format(Locale.ROOT, "0100007F:%04X", port);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            for (String line : Files.readAllLines(Path.of("/proc/net/tcp"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 4 && f[1].equals(local) && f[3].equals(st)) return;
            }
            Thread.sleep(10);
        }
        fail("no socket on port " + port + " reached state " + st);
    }

    /** Waits until the server side of the connection to 127.0.0.1:port holds {@code bytes} unread bytes. */
    private static void awaitReceiveQueue(int port, int bytes) throws Exception {
        String local = String.format(Locale.ROOT, "0100007F:%04X", port);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            for (String line : Files.readAllLines(Path.of("/proc/net/tcp"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 4 && f[1].equals(local) && f[3].equals("01")
                        && Long.parseLong(f[4].split(":")[1], 16) >= bytes) {
                    return;
                }
            }
            Thread.sleep(10);
        }
        fail("the server's receive queue never held " + bytes + " bytes");
    }

    private static String awaitReady(Path log) {
        return Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")))
                .stream().filter(s -> s.startsWith("ready")).findFirst().orElseThrow();
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long closedCount(Path log) {
        return closedCount(Workloads.lines(log));
    }

    private static long closedCount(List<String> lines) {
        return lines.stream().filter(l -> l.startsWith("closed fd ")).count();
    }
}
