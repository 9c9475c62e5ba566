package io.jmigrate.cli;

import io.jmigrate.cli.CliHarness.Run;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.LocalImageChain;
import io.jmigrate.engine.image.PageSource;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.sys.Prctl;
import io.jmigrate.engine.sys.Reaper;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.Spawn;
import io.jmigrate.pageserver.PageServer;
import io.jmigrate.transport.Certificates;
import io.jmigrate.transport.PageFetcher;
import io.jmigrate.transport.TestPki;
import io.jmigrate.transport.TlsSettings;
import io.jmigrate.transport.TransportClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

import static io.jmigrate.cli.CliHarness.assertConsecutiveTicks;
import static io.jmigrate.cli.CliHarness.jmigrate;
import static io.jmigrate.cli.CliHarness.lastTick;
import static io.jmigrate.cli.CliHarness.lines;
import static io.jmigrate.cli.CliHarness.spawnMemhog;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * dump and pre-dump --page-server: a running memhog is dumped straight into a page server over real TLS on
 * loopback (no local images), restored from the directory the page server stored, and memhog verifies its memory
 * page for page; the received set describes what a local dump describes. A page server that is down or refuses
 * our certificate, and a dump that fails after connecting, leave the process running and nothing committed.
 */
class NetworkDumpTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final int MIB = 8;

    @TempDir
    Path tmp;

    private Path pki, received;
    private PageServer server;
    private final List<String> serverLog = new CopyOnWriteArrayList<>();
    private final List<Integer> started = new ArrayList<>();

    @BeforeAll
    static void becomeSubreaper() {
        Prctl.becomeChildSubreaper();   // restored processes re-parent to us, so we can reap them
    }

    @BeforeEach
    void startPageServer() {
        pki = new TestPki(tmp.resolve("pki")).dir;
        received = tmp.resolve("received");
        server = PageServer.start(new InetSocketAddress("127.0.0.1", 0),
                TlsSettings.fromDirectory(pki, "server", TlsSettings.Provider.AUTO).serverContext(), received, serverLog::add);
    }

    @AfterEach
    void stopEverything() {
        for (int pid : started) if (Signals.exists(pid)) Reaper.killAndReap(pid, Duration.ofSeconds(10));
        if (server != null) server.close();
    }

    private String serverAddress() { return "127.0.0.1:" + server.address().getPort(); }

    private List<String> tls(Path certs, String name) {
        return List.of("--certs", certs.toString(), "--cert-name", name);
    }

    @Test
    void aDumpToAPageServerRestoresFromWhatItStored() {
        Path log = tmp.resolve("memhog.log");
        int pid = startMemhog(log);
        awaitLog(log, "3 ticks", l -> lastTick(l) >= 3);
        String p = Integer.toString(pid);

        // what a local dump describes, taken a moment before (memhog keeps its mappings and touched pages)
        Path local = tmp.resolve("local");
        Run snapshot = jmigrate("dump", "-t", p, "-D", local.toString(), "--leave-running");
        assertEquals(0, snapshot.exit(), snapshot.err());

        Run dump = jmigrate(args(List.of("dump", "-t", p, "--page-server", serverAddress(), "--round", "final"),
                tls(pki, "client")));
        assertEquals(0, dump.exit(), dump.err());
        Path finalDir = received.resolve("final");
        assertEquals(finalDir + "\n", dump.out(), "prints the directory on the page server's host");
        assertTrue(dump.err().startsWith("dumped PID " + pid + " to " + finalDir), dump.err());
        assertTrue(Reaper.awaitGone(pid, Duration.ofSeconds(10)), "dump killed the process");
        long ticksAtDump = lastTick(lines(log));
        assertFalse(Files.exists(Path.of("final")), "nothing written locally");

        ImageSet got = ImageSet.open(finalDir), want = ImageSet.open(local);   // checksums of every file
        assertEquals(want.pids(), got.pids());
        assertEquals(want.inventory().getRootPid(), got.inventory().getRootPid());
        for (int each : want.pids()) {
            assertEquals(vmaShapes(want, each), vmaShapes(got, each), "VMAs of PID " + each);
            assertEquals(pageCount(want, each), pageCount(got, each), "pages of PID " + each);
            assertEquals(want.core(each).getThreadsCount(), got.core(each).getThreadsCount());
        }
        assertTrue(pageCount(got, pid) >= MIB * 256L, "memhog's whole buffer was sent: " + pageCount(got, pid));

        Run restore = jmigrate("restore", "-D", finalDir.toString());
        assertEquals(0, restore.exit(), restore.err());
        assertEquals(pid + "\n", restore.out());
        // memhog verifies 256 pages a tick: MIB * 256 / 256 ticks later it has checked every page it had
        List<String> after = awaitLog(log, "every page verified after the restore",
                l -> lastTick(l) >= ticksAtDump + MIB + 2 || l.stream().anyMatch(s -> s.startsWith("CORRUPT")));
        assertConsecutiveTicks(after);
    }

    @Test
    void twoPreDumpsAndAFinalDumpToAPageServerRestoreFromItsChainWithEveryPageIntact() throws IOException {
        Path log = tmp.resolve("dirtier.log");
        int pid = startFixture(log, "dirtier", "32", "5");
        awaitLog(log, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready")));
        String p = Integer.toString(pid);
        Path shadows = tmp.resolve("shadows");

        // round 1: everything; -D is the local shadow and names the round
        Run pre1 = jmigrate(args(List.of("pre-dump", "-t", p, "--page-server", serverAddress(),
                "-D", shadows.resolve("pre1").toString()), tls(pki, "client")));
        assertEquals(0, pre1.exit(), pre1.err());
        assertEquals(received.resolve("pre1") + "\n", pre1.out());
        ImageSet set1 = ImageSet.open(received.resolve("pre1"));
        assertTrue(set1.inventory().getPreDump());
        assertTrue(pageCount(set1, pid) >= 32 * 256L, "round 1 copies everything: " + pageCount(set1, pid));
        Path shadowPages = shadows.resolve("pre1").resolve("pages-" + pid + ".img");
        assertTrue(Files.size(shadowPages) <= 2 * 4096, "the shadow holds no pages: " + Files.size(shadowPages));

        // round 2 builds on round 1 through its shadow, exactly as on local images
        Run pre2 = jmigrate(args(List.of("pre-dump", "-t", p, "--page-server", serverAddress(),
                "-D", shadows.resolve("pre2").toString(), "--prev-images-dir", shadows.resolve("pre1").toString()),
                tls(pki, "client")));
        assertEquals(0, pre2.exit(), pre2.err());
        ImageSet set2 = ImageSet.open(received.resolve("pre2"));
        assertEquals(received.resolve("pre1").toAbsolutePath().toString(), set2.inventory().getParentDir(),
                "parent_dir names the page server's own copy of round 1");
        assertTrue(runsInParent(set2, pid) > 32 * 256L * 8 / 10, "round 2 leaves most to round 1: " + runsInParent(set2, pid));

        // the final dump, frozen, sends only what changed since round 2
        Run fin = jmigrate(args(List.of("dump", "-t", p, "--page-server", serverAddress(), "--round", "fin",
                "--prev-images-dir", shadows.resolve("pre2").toString()), tls(pki, "client")));
        assertEquals(0, fin.exit(), fin.err());
        assertTrue(Reaper.awaitGone(pid, Duration.ofSeconds(10)), "dump killed the process");
        ImageSet setFin = ImageSet.open(received.resolve("fin"));
        assertEquals(received.resolve("pre2").toAbsolutePath().toString(), setFin.inventory().getParentDir());
        assertTrue(runsInParent(setFin, pid) > 32 * 256L * 8 / 10, "the final dump leaves most to the chain");

        // the engine resolves the chain on the page server's side; dirtier checks every page of its buffer
        Run restore = jmigrate("restore", "-D", received.resolve("fin").toString());
        assertEquals(0, restore.exit(), restore.err());
        assertEquals(pid + "\n", restore.out());
        Signals.kill(pid, Signals.SIGUSR1);
        List<String> lines = awaitLog(log, "the verdict after the restore", l -> l.stream().anyMatch(s -> s.startsWith("verif")));
        String verdict = lines.stream().filter(s -> s.startsWith("verif")).findFirst().orElseThrow();
        assertTrue(verdict.startsWith("verified"), String.join("\n", lines));
        assertFalse(lines.stream().anyMatch(s -> s.startsWith("MISMATCH")), String.join("\n", lines));

        // lazy pages follow the chain: the page server serves every page of the final round, most of them left to
        // rounds 1 and 2, in windows that cross from one round's file to another's
        List<PageSource.LocatedRun> runs = LocalImageChain.of(setFin, true).locate(pid);
        long fromParents = 0;
        try (TransportClient client = TransportClient.tls(TlsSettings.fromDirectory(pki, "client", TlsSettings.Provider.AUTO), "client");
             PageFetcher fetcher = PageFetcher.open(client, server.address(), "fin");
             Arena arena = Arena.ofConfined()) {
            MemorySegment got = arena.allocate(256 * 4096L, 4096), expected = arena.allocate(256 * 4096L, 4096);
            for (int first = 0; first < runs.size(); ) {
                int last = first;   // a span of runs that touch each other
                while (last + 1 < runs.size() && runs.get(last + 1).vaddr() == runs.get(last).end()) last++;
                for (long at = runs.get(first).vaddr(); at < runs.get(last).end(); at += 256 * 4096L) {
                    long len = Math.min(256 * 4096L, runs.get(last).end() - at);
                    fetcher.fetch(pid, at, got.asSlice(0, len));
                    for (int k = first; k <= last; k++) {   // what the rounds' files hold for the window
                        PageSource.LocatedRun r = runs.get(k);
                        long from = Math.max(at, r.vaddr()), to = Math.min(at + len, r.end());
                        if (from >= to) continue;
                        try (FileChannel ch = FileChannel.open(r.file())) {
                            ch.read(expected.asSlice(from - at, to - from).asByteBuffer(), r.fileOffset() + (from - r.vaddr()));
                        }
                    }
                    assertEquals(-1, got.asSlice(0, len).mismatch(expected.asSlice(0, len)), "page window at 0x" + Long.toHexString(at));
                }
                first = last + 1;
            }
            for (PageSource.LocatedRun r : runs) if (!r.file().startsWith(received.resolve("fin"))) fromParents += r.nrPages();
        }
        assertTrue(fromParents > 32 * 256L * 8 / 10, "most pages served came from rounds 1 and 2: " + fromParents);

        // a parent round the page server does not have is refused in one line, nothing committed
        Path fake = shadows.resolve("fake");
        Files.createDirectories(fake);
        try (var files = Files.list(shadows.resolve("pre2"))) {
            for (Path f : files.toList()) Files.copy(f, fake.resolve(f.getFileName()));
        }
        Files.writeString(fake.resolve("page-server-round"), "nosuch\n");
        Run orphan = jmigrate(args(List.of("pre-dump", "-t", p, "--page-server", serverAddress(), "--round", "orphan",
                "--prev-images-dir", fake.toString()), tls(pki, "client")));
        assertEquals(1, orphan.exit(), orphan.err());
        assertEquals(1, orphan.errLines().stream().filter(l -> l.startsWith("jmigrate:")).count(), orphan.err());
        assertTrue(orphan.err().contains("builds on round nosuch, which this page server does not have"), orphan.err());
        assertFalse(Files.exists(received.resolve("orphan")));
        // and a local image set cannot be the parent of a network round
        Run local = jmigrate(args(List.of("pre-dump", "-t", p, "--page-server", serverAddress(), "--round", "loc",
                "--prev-images-dir", received.resolve("pre2").toString()), tls(pki, "client")));
        assertEquals(1, local.exit(), local.err());
        assertTrue(local.err().startsWith("jmigrate: " + received.resolve("pre2") + " was not sent to a page server"), local.err());
        assertTrue(Signals.exists(pid), "the refusals leave the process running");
    }

    private static long runsInParent(ImageSet set, int pid) {
        long n = 0;
        for (PageRun r : set.pageIndex(pid).getRunsList()) if (r.getInParent()) n += r.getNrPages();
        return n;
    }

    private int startFixture(Path log, String name, String... argv) {
        Path fixture = Path.of(System.getProperty("jmigrate.fixtures", "../fixtures/build"), name).toAbsolutePath();
        if (!Files.isExecutable(fixture)) fail(fixture + " is not built (make -C fixtures)");
        List<String> cmd = new ArrayList<>(List.of(fixture.toString()));
        cmd.addAll(List.of(argv));
        int pid = Spawn.spawn(Spawn.Request.of(cmd).withOutput(log).withCwd(log.getParent()));
        started.add(pid);
        return pid;
    }

    @Test
    void aPageServerThatIsDownOrRefusesOurCertificateFailsInOneLineAndTheProcessRunsOn() throws IOException {
        Path log = tmp.resolve("memhog-fail.log");
        int pid = startMemhog(log);
        awaitLog(log, "3 ticks", l -> lastTick(l) >= 3);
        String p = Integer.toString(pid);

        Run neither = jmigrate("pre-dump", "-t", p);
        assertEquals(List.of("jmigrate: give -D DIR or --page-server ADDR:PORT"), neither.errLines());
        assertFalse(Files.exists(tmp.resolve("img")));

        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        Run down = jmigrate(args(List.of("dump", "-t", p, "--page-server", "127.0.0.1:" + closedPort), tls(pki, "client")));
        assertEquals(1, down.exit());
        assertEquals(1, down.errLines().size(), down.err());
        assertTrue(down.err().startsWith("jmigrate: "), down.err());
        assertEquals("", down.out());
        System.out.print("page server down: " + down.err());

        // a certificate of another cluster: the TLS handshake with the page server fails (mutual authentication)
        Path otherPki = tmp.resolve("other-pki");
        Certificates.initCa(otherPki, "other CA", Duration.ofDays(1));
        Certificates.issue(otherPki, "client", List.of(), Duration.ofDays(1));
        Run refused = jmigrate(args(List.of("dump", "-t", p, "--page-server", serverAddress(), "--round", "x"),
                tls(otherPki, "client")));
        assertEquals(1, refused.exit());
        assertEquals(1, refused.errLines().size(), refused.err());
        assertTrue(refused.err().startsWith("jmigrate: "), refused.err());
        assertFalse(Files.exists(received.resolve("x")));
        System.out.print("certificate refused: " + refused.err());

        // our certificate from another CA next to this cluster's ca.crt: refused before any connection is made
        Path mixed = Files.createDirectories(tmp.resolve("mixed-pki"));
        Files.copy(pki.resolve("ca.crt"), mixed.resolve("ca.crt"));
        Files.copy(otherPki.resolve("client.crt"), mixed.resolve("client.crt"));
        Files.copy(otherPki.resolve("client.key"), mixed.resolve("client.key"));
        Run foreign = jmigrate(args(List.of("dump", "-t", p, "--page-server", serverAddress(), "--round", "y"),
                tls(mixed, "client")));
        assertEquals(1, foreign.exit());
        assertEquals(1, foreign.errLines().size(), foreign.err());
        assertTrue(foreign.err().contains("was not signed by the CA in"), foreign.err());
        assertFalse(Files.exists(received.resolve("y")));

        assertTrue(Signals.exists(pid));
        long before = lastTick(lines(log));
        awaitLog(log, "ticks after the failures", l -> lastTick(l) >= before + 3);
        assertConsecutiveTicks(lines(log));
    }

    @Test
    void aDumpThatFailsAfterConnectingLeavesTheProcessRunningAndTheRoundUncommitted() {
        Path log = tmp.resolve("sysv.log");
        int pid = startFixture(tmp.resolve("sysv.out"), "shmem", log.toString(), "sysv");
        awaitLog(log, "2 ticks", l -> lastTick(l) >= 2);
        Run dump = jmigrate(args(List.of("dump", "-t", Integer.toString(pid), "--page-server", serverAddress(),
                "--round", "sysv"), tls(pki, "client")));
        assertEquals(1, dump.exit());
        assertEquals(1, dump.errLines().size(), dump.err());
        assertTrue(dump.err().contains("SysV shared memory segment"), dump.err());
        System.out.print("refused after connecting: " + dump.err());
        await("the page server discarded the round", () -> server.transport().roundsAborted() >= 1);
        assertFalse(Files.exists(received.resolve("sysv")), "not committed");
        assertTrue(Signals.exists(pid));
        long ticks = lastTick(lines(log));
        awaitLog(log, "ticks after the refusal", l -> lastTick(l) >= ticks + 3);
        assertConsecutiveTicks(lines(log));
        assertFalse(lines(log).stream().anyMatch(s -> s.startsWith("CORRUPT")), lines(log).toString());
    }

    /**
     * Shared memory crosses to a page server both ways a set can: a local dump sent with send-images, and a dump
     * straight into the page server. The page server lays out pages files by address, so the contents of shmem
     * objects travel as shmem-PID.img; each time the tree restored from what the server stored shares its memory
     * again (each process sees the other's writes made after the restore) and every pattern checks.
     */
    @Test
    void sharedMemoryReachesThePageServerBySendImagesAndByADumpAndRestoresFromIt() throws IOException {
        Path log = tmp.resolve("shmem.log"), childLog = tmp.resolve("shmem.log.child");
        int pid = startFixture(tmp.resolve("shmem.out"), "shmem", log.toString(), tmp.resolve("shmem.data").toString());
        String childLine = awaitLog(log, "the child", l -> l.stream().anyMatch(s -> s.startsWith("child ")))
                .stream().filter(s -> s.startsWith("child ")).findFirst().orElseThrow();
        int child = Integer.parseInt(childLine.substring("child ".length()).trim());
        started.add(child);
        awaitLog(childLog, "child ticks", l -> lastTick(l) >= 3);

        Path local = tmp.resolve("local-shm");
        Run dump = jmigrate("dump", "-t", Integer.toString(pid), "-D", local.toString());
        assertEquals(0, dump.exit(), dump.err());
        Run send = jmigrate(args(List.of("send-images", "-D", local.toString(), "--page-server", serverAddress(),
                "--round", "sent"), tls(pki, "client")));
        assertEquals(0, send.exit(), send.err());

        // a shmem-PID.img damaged after it arrived is refused in one line, and nothing is started
        Path shmemFile = received.resolve("sent").resolve("shmem-" + pid + ".img");
        byte[] good = Files.readAllBytes(shmemFile);
        byte[] bad = good.clone();
        bad[bad.length - 1] ^= 1;
        Files.write(shmemFile, bad);
        Run refused = jmigrate("restore", "-D", received.resolve("sent").toString());
        assertEquals(1, refused.exit());
        assertEquals(1, refused.errLines().size(), refused.err());
        assertTrue(refused.err().contains(shmemFile + " checksum mismatch"), refused.err());
        assertFalse(Signals.exists(pid) || Signals.exists(child), "no process was started");
        Files.write(shmemFile, good);
        restoreAndCheckSharing(received.resolve("sent"), pid, child, log, childLog);

        Run direct = jmigrate(args(List.of("dump", "-t", Integer.toString(pid), "--page-server", serverAddress(),
                "--round", "direct"), tls(pki, "client")));
        assertEquals(0, direct.exit(), direct.err());
        restoreAndCheckSharing(received.resolve("direct"), pid, child, log, childLog);
    }

    private void restoreAndCheckSharing(Path set, int pid, int child, Path log, Path childLog) {
        assertTrue(Reaper.awaitGone(pid, Duration.ofSeconds(10)) && Reaper.awaitGone(child, Duration.ofSeconds(10)), "dumped and killed");
        assertTrue(Files.exists(set.resolve("shmem-" + pid + ".img")), "the contents travelled as shmem-PID.img");
        assertTrue(ImageSet.open(set).mm(pid).getShmemFile());
        long parentAt = lastTick(lines(log)), childAt = lastTick(lines(childLog));
        Run restore = jmigrate("restore", "-D", set.toString());
        assertEquals(0, restore.exit(), restore.err());
        // a counter at dump may be one tick ahead of the log: beyond that it was written after the restore
        awaitLog(log, "the parent sees the child's writes after the restore", l -> othersCounter(l) > childAt + 1);
        awaitLog(childLog, "the child sees the parent's writes after the restore", l -> othersCounter(l) > parentAt + 1);
        for (Path p : List.of(log, childLog)) {
            assertConsecutiveTicks(lines(p));
            assertFalse(lines(p).stream().anyMatch(s -> s.startsWith("CORRUPT")), p + ": " + lines(p));
        }
    }

    /** The smaller of the other process's counters (shared anonymous memory, memfd) in the last tick line, or -1. */
    private static long othersCounter(List<String> lines) {
        for (int i = lines.size() - 1; i >= 0; i--) {
            var m = java.util.regex.Pattern.compile("tick \\d+ anon_other=(-?\\d+) memfd_other=(-?\\d+)").matcher(lines.get(i));
            if (m.matches()) return Math.min(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
        }
        return -1;
    }

    @Test
    void aPageServerThatFailsWhileTheProcessIsFrozenLeavesItRunningAndTheRoundUncommitted() throws Exception {
        // the page server's disk fills up (a 4 MiB tmpfs for 8 MiB of memory) in the middle of the frozen dump
        Path full = Files.createDirectories(tmp.resolve("full"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", full.toString())
                .redirectErrorStream(true).start();
        String mountOutput = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        org.junit.jupiter.api.Assumptions.assumeTrue(mount.waitFor() == 0, "cannot mount a small tmpfs here: " + mountOutput);
        try (PageServer small = PageServer.start(new InetSocketAddress("127.0.0.1", 0),
                TlsSettings.fromDirectory(pki, "server", TlsSettings.Provider.AUTO).serverContext(), full, serverLog::add)) {
            Path log = tmp.resolve("memhog-full.log");
            int pid = startMemhog(log);
            awaitLog(log, "3 ticks", l -> lastTick(l) >= 3);
            Run dump = jmigrate(args(List.of("dump", "-t", Integer.toString(pid), "--page-server",
                    "127.0.0.1:" + small.address().getPort(), "--round", "big", "--no-compress"), tls(pki, "client")));
            assertEquals(1, dump.exit(), dump.err());
            assertEquals(1, dump.errLines().size(), dump.err());
            System.out.print("page server disk full: " + dump.err());
            assertTrue(Signals.exists(pid), "the process was resumed, not killed");
            await("the page server discarded the round", () -> small.transport().roundsAborted() >= 1);
            try (var left = Files.list(full)) {
                assertEquals(List.of(), left.toList(), "nothing of the round is left on the page server");
            }
            long before = lastTick(lines(log));
            awaitLog(log, "ticks after the failed dump", l -> lastTick(l) >= before + 3);
            assertConsecutiveTicks(lines(log));
        } finally {
            new ProcessBuilder("umount", full.toString()).start().waitFor();
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private static String[] args(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all.toArray(String[]::new);
    }

    private static List<String> vmaShapes(ImageSet set, int pid) {
        return set.mm(pid).getVmasList().stream().map(NetworkDumpTest::shape).toList();
    }

    private static String shape(Vma v) {
        return Long.toHexString(v.getStart()) + "-" + Long.toHexString(v.getEnd()) + " " + v.getProt() + " " + v.getFlags()
                + " " + v.getName();
    }

    private static long pageCount(ImageSet set, int pid) {
        return set.pageIndex(pid).getRunsList().stream().mapToLong(PageRun::getNrPages).sum();
    }

    private int startMemhog(Path log) {
        int pid = spawnMemhog(log, MIB);
        started.add(pid);
        return pid;
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }

    private static List<String> awaitLog(Path log, String what, Predicate<List<String>> condition) {
        return CliHarness.awaitLog(log, TIMEOUT, what, condition);
    }


}
