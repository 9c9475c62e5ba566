package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ProcFs on the test JVM itself. */
class ProcFsLiveTest {
    private static final ProcFs PROC = new ProcFs();
    private static final int SELF = (int) ProcessHandle.current().pid();

    @Test
    void statusAndStatOfTheJvm() {
        assertTrue(PROC.exists(SELF));
        ProcStatus status = PROC.status(SELF);
        assertEquals(SELF, status.pid());
        assertEquals(SELF, status.tgid());
        assertEquals(ProcessHandle.current().parent().orElseThrow().pid(), status.ppid());
        assertTrue(status.threads() > 5, "a JVM runs GC, compiler and signal threads: " + status.threads());

        ProcStat stat = PROC.stat(SELF);
        assertEquals(SELF, stat.pid());
        assertEquals("java", stat.comm());
        assertEquals(status.ppid(), stat.ppid());
        assertFalse(stat.isKernelThread());
        assertTrue(stat.numThreads() > 5);
        assertTrue(PROC.exe(SELF).endsWith("/bin/java"), PROC.exe(SELF));
    }

    @Test
    void threadsStartWithTheLeader() {
        List<Integer> threads = PROC.threads(SELF);
        assertEquals(SELF, threads.getFirst());
        assertTrue(threads.size() > 5, threads.toString());
        assertEquals(threads.size(), threads.stream().distinct().count());
    }

    @Test
    void mapsHaveOneVdsoWhereAuxvSaysItIs() {
        List<MapsEntry> maps = PROC.maps(SELF);
        List<MapsEntry> vdso = maps.stream().filter(MapsEntry::isVdso).toList();
        assertEquals(1, vdso.size());
        long[] auxv = PROC.auxv(SELF);
        assertEquals(vdso.getFirst().start(), Auxv.get(auxv, Auxv.AT_SYSINFO_EHDR).orElseThrow());
        assertEquals(4096, Auxv.get(auxv, Auxv.AT_PAGESZ).orElseThrow());
        assertEquals(Auxv.AT_NULL, auxv[auxv.length - 2]);
        assertTrue(PROC.smaps(SELF).stream().anyMatch(e -> e.mapping().isVdso() && e.mapping().executable()));
    }

    @Test
    void openFileShowsUpWithItsPosition(@TempDir Path dir) throws IOException {
        Path file = dir.toRealPath().resolve("open me");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            channel.position(1234);
            int fd = PROC.fdNumbers(SELF).stream().filter(n -> targetOrEmpty(n).equals(file.toString())).findFirst()
                    .orElseThrow(() -> new AssertionError("no descriptor for " + file));
            FdInfo info = PROC.fdInfo(SELF, fd);
            assertEquals(1234, info.pos());
            assertEquals(FdInfo.O_RDWR, info.accessMode());
            assertEquals(Files.getAttribute(file, "unix:ino"), info.ino());
        }
    }

    /** A descriptor listed a moment ago (such as the one of the fd directory listing itself) may be gone. */
    private static String targetOrEmpty(int fd) {
        try {
            return PROC.fdTarget(SELF, fd);
        } catch (RuntimeException e) {
            return "";
        }
    }

    /** The child is forked by this test's thread, not the JVM's leader thread, so only the union over threads has it. */
    @Test
    void childrenOfAnyThread() throws Exception {
        Process sleeper = new ProcessBuilder("sleep", "30").start();
        try {
            assertTrue(PROC.children(SELF).contains((int) sleeper.pid()), PROC.children(SELF).toString());
            String leaderChildren = PROC.readText(SELF, "task/" + SELF + "/children");
            assertFalse(List.of(leaderChildren.strip().split(" ")).contains(Long.toString(sleeper.pid())));
        } finally {
            sleeper.destroyForcibly();
            sleeper.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void limitsAndPersonality() {
        Limit nofile = Limits.find(PROC.limits(SELF), Limits.RLIMIT_NOFILE).orElseThrow();
        assertEquals(nofile.hard(), nofile.soft(), "the JVM raises its descriptor limit to the hard limit (MaxFDLimit)");
        assertEquals(0, PROC.personality(SELF) & 0xff, "PER_LINUX");
        assertEquals(Path.of(System.getProperty("user.dir")).toAbsolutePath().toString(), PROC.cwd(SELF));
    }

    @Test
    void processThatCannotExist() {
        int pid = 1 << 30;   // above the largest pid_max the kernel allows
        assertFalse(PROC.exists(pid));
        assertEquals("process " + pid + " does not exist",
                assertThrows(ProcessGoneException.class, () -> PROC.status(pid)).getMessage());
    }
}
