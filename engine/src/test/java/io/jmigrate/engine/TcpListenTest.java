package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpRefusedException;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.restore.RestoreException;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Listening TCP sockets (127.0.0.1 and, where the host has it, ::1 v6only) come back listening on the same
 * address and port with their fd flags, and the restored process answers connections; TCP connections with both
 * ends in the process and listeners with connections waiting to be accepted are refused, leaving the process running.
 */
class TcpListenTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final ProcFs PROC = new ProcFs();
    private static final int O_NONBLOCK = 04000, O_CLOEXEC = 02000000;

    @TempDir
    Path tmp;

    @Test
    void listenersAnswerAfterTwoDumpRestoreCycles() {
        try (Workloads workloads = new Workloads()) {
            int port = freePort();
            Path log = tmp.resolve("listener.log");
            int pid = workloads.start(log, Workloads.fixture("listener").toString(), log.toString(), Integer.toString(port));
            boolean v6 = awaitReady(log).endsWith("v6 yes");
            assertEquals(hasIpv6Loopback(), v6, "the fixture listens on ::1 where the host has it");
            assertEquals("echo hello from " + pid, echo("127.0.0.1", port, "hello"));
            if (v6) assertEquals("echo hello6 from " + pid, echo("::1", port, "hello6"));
            Map<Integer, Integer> flags = socketFlags(pid);
            assertEquals(v6 ? 2 : 1, flags.size(), "listening sockets: " + flags);
            int v4fd = flags.keySet().iterator().next();
            assertEquals(O_NONBLOCK | O_CLOEXEC, flags.get(v4fd) & (O_NONBLOCK | O_CLOEXEC), "the fixture's v4 flags");

            for (int cycle = 0; cycle < 2; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                List<FdEntry> listeners = ImageSet.open(images).fds(pid).getFdsList().stream()
                        .filter(f -> f.getKind() == FdKind.FD_TCP_LISTEN).toList();
                assertEquals(flags.size(), listeners.size(), "listeners in the images: " + listeners);
                for (FdEntry l : listeners) {
                    assertTrue(l.getTcpListen().getReuseaddr(), "SO_REUSEADDR kept: " + l);
                    assertEquals(16, l.getTcpListen().getBacklog(), "backlog: " + l);
                    if (l.getTcpListen().getFamily() == 10) assertTrue(l.getTcpListen().getV6Only(), "v6only: " + l);
                }
                long ticks = TickLog.lastTick(Workloads.lines(log));

                int restored = new Restorer().restore(RestoreOptions.of(images)).pid();
                workloads.adopt(restored);
                assertEquals(pid, restored);
                assertEquals(flags, socketFlags(pid), "fd numbers and flags of the listening sockets");
                assertEquals("echo again" + cycle + " from " + pid, echo("127.0.0.1", port, "again" + cycle));
                if (v6) assertEquals("echo v6-" + cycle + " from " + pid, echo("::1", port, "v6-" + cycle));
                List<String> after = Workloads.awaitLog(log, TIMEOUT, "ticks after restore",
                        l -> TickLog.lastTick(l) >= ticks + 3);
                TickLog.assertConsecutive(after);
            }
        }
    }

    @Test
    void restoreFailsClearlyWhenThePortIsTaken() throws IOException {
        try (Workloads workloads = new Workloads()) {
            int port = freePort();
            Path log = tmp.resolve("taken.log");
            int pid = workloads.start(log, Workloads.fixture("listener").toString(), log.toString(), Integer.toString(port));
            awaitReady(log);
            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            try (ServerSocket squatter = new ServerSocket()) {
                squatter.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
                RestoreException e = assertThrows(RestoreException.class,
                        () -> new Restorer().restore(RestoreOptions.of(images)));
                String m = e.getMessage();
                assertTrue(m.contains("127.0.0.1:" + port) && m.contains("in use"), m);
                assertFalse(m.contains("\n"), "one line: " + m);
            }
            if (Workloads.alive(pid)) workloads.adopt(pid);
        }
    }

    @Test
    void establishedConnectionIsRefusedAndTheProcessRunsOn() {
        try (Workloads workloads = new Workloads()) {
            int port = freePort();
            Path log = tmp.resolve("self.log");
            int pid = workloads.start(log, Workloads.fixture("listener").toString(), log.toString(),
                    Integer.toString(port), "selfconnect");
            awaitReady(log);
            String m = assertRefused(pid, tmp.resolve("images"));
            assertTrue(m.contains("TCP connections with both ends in the dumped tree are not supported yet"), m);
            assertRunsUntouched(pid, log);
            assertEquals("echo still from " + pid, echo("127.0.0.1", port, "still"));
        }
    }

    @Test
    void listenerWithAPendingConnectionIsRefusedAndTheProcessRunsOn() throws IOException {
        try (Workloads workloads = new Workloads()) {
            int port = freePort();
            Path log = tmp.resolve("pending.log");
            int pid = workloads.start(log, Workloads.fixture("listener").toString(), log.toString(),
                    Integer.toString(port), "noaccept");
            awaitReady(log);
            try (Socket pending = new Socket()) {
                pending.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 10_000);
                String m = assertRefused(pid, tmp.resolve("images"));
                assertTrue(m.contains("listening on 127.0.0.1:" + port) && m.contains("1 connection(s) waiting to be accepted"), m);
                assertRunsUntouched(pid, log);
            }
        }
    }

    @Test
    void listenerSharedWithAChildIsRefusedAndTheProcessRunsOn() {
        try (Workloads workloads = new Workloads()) {
            int port = freePort();
            Path log = tmp.resolve("fork.log");
            int pid = workloads.start(log, Workloads.fixture("listener").toString(), log.toString(),
                    Integer.toString(port), "fork");
            awaitReady(log);
            int child = Workloads.lines(log).stream().filter(l -> l.startsWith("child ")).findFirst()
                    .map(l -> Integer.parseInt(l.substring("child ".length()))).orElseThrow();
            workloads.adopt(child);
            String m = assertRefused(pid, tmp.resolve("images"), child);
            assertTrue(m.contains("listening on 127.0.0.1:" + port) && m.contains("PID " + pid + " holds too")
                    && m.contains("listening sockets shared between processes are not supported yet"), m);
            assertRunsUntouched(pid, log);
            assertTrue(Workloads.alive(child));
            assertEquals("echo shared from " + pid, echo("127.0.0.1", port, "shared"));
        }
    }

    private static boolean hasIpv6Loopback() {
        try {
            return Files.readString(Path.of("/proc/net/if_inet6")).lines()
                    .anyMatch(l -> l.startsWith("00000000000000000000000000000001"));
        } catch (IOException e) {
            return false;
        }
    }

    private static String assertRefused(int pid, Path images) {
        return assertRefused(pid, images, pid);
    }

    /** Dumps the tree of {@code pid}; the refusal names {@code culprit}. */
    private static String assertRefused(int pid, Path images, int culprit) {
        DumpRefusedException e = assertThrows(DumpRefusedException.class,
                () -> new Dumper().dump(DumpOptions.of(pid, images)));
        String m = e.getMessage();
        assertTrue(m.contains("of PID " + culprit) && m.matches("fd \\d+ of PID .*"), m);
        assertFalse(m.contains("\n"), "one line: " + m);
        assertFalse(Files.exists(images), "no images left behind");
        return m;
    }

    private static void assertRunsUntouched(int pid, Path log) {
        long ticks = TickLog.lastTick(Workloads.lines(log));
        List<String> after = Workloads.awaitLog(log, TIMEOUT, "5 more ticks", l -> TickLog.lastTick(l) >= ticks + 5);
        assertTrue(Workloads.alive(pid), "PID " + pid + " is still running");
        for (int tid : PROC.threads(pid)) {
            assertEquals(0, PROC.taskStatus(pid, tid).tracerPid(), "thread " + tid + " is not traced");
            char state = PROC.taskStat(pid, tid).state();
            assertFalse(state == 't' || state == 'T', "thread " + tid + " is not stopped: " + state);
        }
        TickLog.assertConsecutive(after);
    }

    private static String awaitReady(Path log) {
        return Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")))
                .stream().filter(s -> s.startsWith("ready")).findFirst().orElseThrow();
    }

    /** Socket fd number to its fdinfo flags. */
    private static Map<Integer, Integer> socketFlags(int pid) {
        Map<Integer, Integer> flags = new TreeMap<>();
        for (int fd : PROC.fdNumbers(pid)) {
            if (PROC.fdTarget(pid, fd).startsWith("socket:")) flags.put(fd, PROC.fdInfo(pid, fd).flags());
        }
        return flags;
    }

    /** One connection: sends LINE, returns the answer line. */
    private static String echo(String host, int port, String line) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getByName(host), port), 10_000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        } catch (IOException e) {
            throw new UncheckedIOException("echo via " + host + ":" + port, e);
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
