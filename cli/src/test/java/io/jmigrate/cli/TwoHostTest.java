package io.jmigrate.cli;

import io.jmigrate.cli.CliHarness.Run;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.PagesReader;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.PageRun;
import io.jmigrate.engine.sys.Prctl;
import io.jmigrate.engine.sys.Reaper;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.Spawn;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static io.jmigrate.cli.HostNamespaces.*;
import static io.jmigrate.cli.CliHarness.jmigrate;

/**
 * Two "hosts": network namespaces A and B joined by a veth pair, made and removed by the test. A 512 MiB memhog
 * runs in A. A sender killed mid-round leaves nothing on B and the process untouched; then the process is dumped in
 * A, its images sent with send-images over TLS to a page server in B, and restored in B from what B received.
 * memhog verifies every page of its buffer after the restore.
 */
class TwoHostTest {
    private static final int MIB = 512;
    private static final Pattern TICK = Pattern.compile("tick (\\d+) cursor (\\d+)");

    private final String nsA = "jmA" + ProcessHandle.current().pid(), nsB = "jmB" + ProcessHandle.current().pid();
    private final int subnet = ThreadLocalRandom.current().nextInt(1, 250);
    private final String addrA = "10.213." + subnet + ".1", addrB = "10.213." + subnet + ".2";
    private final List<Integer> pids = new ArrayList<>();
    private final List<Process> children = new ArrayList<>();
    private Path work;

    @BeforeAll
    static void subreaper() {
        Prctl.becomeChildSubreaper();   // the process restored in B re-parents to us
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : children) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        for (int pid : pids) if (Signals.exists(pid)) Reaper.killAndReap(pid, Duration.ofSeconds(10));
        run(List.of("ip", "netns", "del", nsA), true);
        run(List.of("ip", "netns", "del", nsB), true);
        if (work != null) deleteTree(work);
    }

    @Test
    void aProcessDumpedInOneNamespaceIsRestoredInTheOtherFromWhatThePageServerReceived() throws Exception {
        work = Files.createTempDirectory(Path.of("/dev/shm"), "jmigrate-twohost-");
        Path logs = Files.createDirectories(work.resolve("logs"));
        setUpNamespaces();
        Path pki = work.resolve("pki");
        assertEquals(0, jmigrate("certs", "init", "--certs", pki.toString()).exit());
        assertEquals(0, jmigrate("certs", "issue", "--certs", pki.toString(), "--host", "hostA", "--alt", addrA).exit());
        assertEquals(0, jmigrate("certs", "issue", "--certs", pki.toString(), "--host", "hostB", "--alt", addrB).exit());

        // B: the page server
        Path received = work.resolve("received");
        Path serverLog = logs.resolve("page-server.log");
        Process server = javaIn(nsB, serverLog, children, "page-server", "--listen", addrB + ":7070", "-D", received.toString(),
                "--certs", pki.toString(), "--cert-name", "hostB", "--progress", "1");
        awaitFile(serverLog, "listening on", Duration.ofSeconds(60));

        // A: the workload, 512 MiB
        Path hogLog = logs.resolve("memhog.log");
        Path memhog = Path.of(System.getProperty("jmigrate.fixtures", "../fixtures/build"), "memhog").toAbsolutePath();
        int pid = Spawn.spawn(Spawn.Request.of(List.of(IP, "netns", "exec", nsA, memhog.toString(), hogLog.toString(),
                Integer.toString(MIB), "sleep")).withOutput(hogLog).withCwd(logs));
        pids.add(pid);
        awaitTicks(hogLog, 3);
        assertFalse(nsInode(pid).equals(nsInode((int) ProcessHandle.current().pid())), "memhog runs in namespace A");

        // 1. a sender killed mid-round: the round is discarded on B, the process in A runs on untouched
        Path pre = work.resolve("pre");
        Run preDump = jmigrate("dump", "-t", Integer.toString(pid), "-D", pre.toString(), "--leave-running");
        assertEquals(0, preDump.exit(), preDump.err());
        Process doomed = javaIn(nsA, logs.resolve("doomed.log"), children, "send-images", "-D", pre.toString(), "--page-server",
                addrB + ":7070", "--round", "pre-1", "--certs", pki.toString(), "--cert-name", "hostA", "--max-rate", "50");
        await("part of round pre-1 reached B", Duration.ofSeconds(60), () -> partialPagesBytes(received) > 8L << 20);
        doomed.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        awaitFile(serverLog, "discarded round pre-1", Duration.ofSeconds(30));
        try (var left = Files.list(received)) {
            assertEquals(List.of(), left.toList(), "nothing of the killed sender's round is left on B");
        }
        long before = lastTick(hogLog);
        awaitTicks(hogLog, before + 5);
        assertTrue(uncorrupted(hogLog), "memhog runs on in A, uncorrupted");

        // 2. the migration: dump in A (kills), send to B, restore in B
        Path images = work.resolve("images");
        Run dump = jmigrate("dump", "-t", Integer.toString(pid), "-D", images.toString());
        assertEquals(0, dump.exit(), dump.err());
        assertTrue(Reaper.awaitGone(pid, Duration.ofSeconds(10)), "dump killed the process");
        long ticksAtDump = lastTick(hogLog);
        Path sendLog = logs.resolve("send.log");
        Process send = javaIn(nsA, sendLog, children, "send-images", "-D", images.toString(), "--page-server", addrB + ":7070",
                "--round", "final", "--certs", pki.toString(), "--cert-name", "hostA");
        assertTrue(send.waitFor(120, TimeUnit.SECONDS), "send-images finished");
        assertEquals(0, send.exitValue(), Files.readString(sendLog));
        Path finalDir = received.resolve("final");
        assertTrue(Files.readString(sendLog).contains(finalDir.toString()), Files.readString(sendLog));
        assertSameMemory(ImageSet.open(images), ImageSet.open(finalDir));

        Path restoreLog = logs.resolve("restore.log");
        Process restore = javaIn(nsB, restoreLog, children, "restore", "-D", finalDir.toString());
        assertTrue(restore.waitFor(120, TimeUnit.SECONDS), "restore finished");
        assertEquals(0, restore.exitValue(), Files.readString(restoreLog));
        assertTrue(Files.readString(restoreLog).lines().anyMatch(l -> l.equals(Integer.toString(pid))), Files.readString(restoreLog));
        assertEquals(nsInode((int) server.pid()), nsInode(pid), "restored into namespace B");

        // memhog checks 256 pages a tick: after pages/256 ticks it has verified every page it had at the dump
        long pages = (long) MIB * 256;
        awaitTicks(hogLog, ticksAtDump + pages / 256 + 2, Duration.ofSeconds(120));
        assertTrue(uncorrupted(hogLog), "no CORRUPT after the restore");
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private void setUpNamespaces() throws Exception {
        String vA = "jmv" + subnet + "a", vB = "jmv" + subnet + "b";
        run(List.of("ip", "netns", "add", nsA), false);
        run(List.of("ip", "netns", "add", nsB), false);
        run(List.of("ip", "link", "add", vA, "type", "veth", "peer", "name", vB), false);
        run(List.of("ip", "link", "set", vA, "netns", nsA), false);
        run(List.of("ip", "link", "set", vB, "netns", nsB), false);
        run(List.of("ip", "-n", nsA, "addr", "add", addrA + "/24", "dev", vA), false);
        run(List.of("ip", "-n", nsB, "addr", "add", addrB + "/24", "dev", vB), false);
        for (String[] l : new String[][]{{nsA, vA}, {nsB, vB}, {nsA, "lo"}, {nsB, "lo"}})
            run(List.of("ip", "-n", l[0], "link", "set", l[1], "up"), false);
    }

    private static String nsInode(int pid) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "ns", "net")).toString();
    }

    private static long partialPagesBytes(Path received) {
        if (!Files.isDirectory(received)) return 0;
        try (var dirs = Files.list(received)) {
            long n = 0;
            for (Path d : dirs.filter(p -> p.getFileName().toString().startsWith(".pre-1.partial-")).toList())
                try (var files = Files.list(d)) {
                    for (Path f : files.toList()) n += Files.size(f);
                } catch (IOException ignored) { /* raced with its removal */ }
            return n;
        } catch (IOException e) {
            return 0;
        }
    }

    private static void assertSameMemory(ImageSet a, ImageSet b) {
        assertEquals(a.pids(), b.pids());
        try (Arena arena = Arena.ofConfined()) {
            for (int pid : a.pids()) {
                PageIndex ia = a.pageIndex(pid), ib = b.pageIndex(pid);
                try (PagesReader ra = a.openPages(pid); PagesReader rb = b.openPages(pid)) {
                    MemorySegment da = ra.mapData(arena), db = rb.mapData(arena);
                    long pagesA = 0;
                    for (PageRun r : ia.getRunsList()) {
                        pagesA += r.getNrPages();
                        for (long p = 0; p < r.getNrPages(); p++) {
                            long vaddr = r.getVaddr() + p * 4096;
                            long offB = -1;
                            for (PageRun q : ib.getRunsList())
                                if (vaddr >= q.getVaddr() && vaddr < q.getVaddr() + q.getNrPages() * 4096) {
                                    offB = q.getFileOffset() + vaddr - q.getVaddr();
                                    break;
                                }
                            assertTrue(offB >= 0, "page 0x" + Long.toHexString(vaddr) + " missing on B");
                            assertEquals(-1, da.asSlice(r.getFileOffset() - 4096 + p * 4096, 4096)
                                    .mismatch(db.asSlice(offB - 4096, 4096)), "page 0x" + Long.toHexString(vaddr));
                        }
                    }
                    long pagesB = ib.getRunsList().stream().mapToLong(PageRun::getNrPages).sum();
                    assertEquals(pagesA, pagesB, "B holds no extra pages");
                }
            }
        }
    }

    private static boolean uncorrupted(Path log) throws IOException {
        return Files.readAllLines(log).stream().noneMatch(l -> l.contains("CORRUPT"));
    }

    private static long lastTick(Path log) throws IOException {
        long last = -1;
        for (String l : Files.readAllLines(log)) {
            Matcher m = TICK.matcher(l);
            if (m.matches()) last = Long.parseLong(m.group(1));
        }
        return last;
    }

    private static void awaitTicks(Path log, long n) throws Exception {
        awaitTicks(log, n, Duration.ofSeconds(60));
    }

    private static void awaitTicks(Path log, long n, Duration timeout) throws Exception {
        await("tick " + n + " in " + log, timeout, () -> {
            try {
                return lastTick(log) >= n;
            } catch (IOException e) {
                return false;
            }
        });
    }
}
