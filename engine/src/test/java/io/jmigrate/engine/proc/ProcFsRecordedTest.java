package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** ProcFs over the recorded kitchen process, laid out like /proc in a temporary directory. */
class ProcFsRecordedTest {
    private static final int PID = Samples.KITCHEN;

    @TempDir
    Path root;
    ProcFs proc;

    @BeforeEach
    void install() throws IOException {
        Samples.installProcTree("kitchen", PID, root);
        proc = new ProcFs(root);
    }

    @Test
    void parsedFiles() {
        assertEquals(root, proc.procRoot());
        assertTrue(proc.exists(PID));
        assertEquals(36, proc.maps(PID).size());
        assertEquals(36, proc.smaps(PID).size());
        assertEquals("kit (chen) x", proc.status(PID).name());
        assertEquals("kit (chen) x", proc.stat(PID).comm());
        assertEquals("kit (chen) x", proc.comm(PID));
        assertEquals(List.of("./kitchen"), proc.cmdline(PID));
        assertEquals(46, proc.auxv(PID).length);
        assertEquals(1000, Limits.find(proc.limits(PID), Limits.RLIMIT_NOFILE).orElseThrow().soft());
        assertEquals(0x0040000, proc.personality(PID));       // ADDR_NO_RANDOMIZE
    }

    @Test
    void links() {
        assertEquals("/tmp/procrec", proc.cwd(PID));
        assertEquals("/", proc.root(PID));
        assertEquals("/tmp/procrec/kitchen", proc.exe(PID));
    }

    @Test
    void descriptors() {
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), proc.fdNumbers(PID));
        assertEquals("/tmp/procrec/mapped file (x).bin", proc.fdTarget(PID, 3));
        assertEquals("anon_inode:[userfaultfd]", proc.fdTarget(PID, 4));
        assertEquals("pipe:[5821]", proc.fdTarget(PID, 11));
        assertEquals(5, proc.fdInfo(PID, 5).pos());
        assertEquals("2a", proc.fdInfo(PID, 6).field("eventfd-count"));
    }

    @Test
    void threadsAndChildren() {
        assertEquals(List.of(3695, 3698, 3699), proc.threads(PID));
        assertEquals("worker one", proc.taskComm(PID, 3698));
        assertEquals("kitchen", proc.taskStat(PID, 3699).comm());
        // One child was forked by the leader, the other by thread 3699.
        assertEquals(List.of(3697, 3700), proc.children(PID));
    }

    @Test
    void leaderComesFirstEvenWithTheHighestTid() throws IOException {
        for (int tid : new int[] {50, 7, 100}) Files.createDirectories(root.resolve("100/task/" + tid));
        assertEquals(List.of(100, 7, 50), proc.threads(100));
    }

    @Test
    void missingProcessIsReportedAsGone() {
        assertFalse(proc.exists(4242));
        var gone = assertThrows(ProcessGoneException.class, () -> proc.stat(4242));
        assertEquals("process 4242 does not exist", gone.getMessage());
        assertEquals(4242, gone.pid());
        assertEquals(-1, gone.tid());
        assertInstanceOf(NoSuchFileException.class, gone.getCause());
        for (Executable read : List.<Executable>of(() -> proc.maps(4242), () -> proc.fdNumbers(4242),
                () -> proc.exe(4242), () -> proc.threads(4242), () -> proc.children(4242), () -> proc.auxv(4242),
                () -> proc.pagemap(4242), () -> proc.taskStat(4242, 1))) {
            assertEquals("process 4242 does not exist", assertThrows(ProcessGoneException.class, read).getMessage());
        }
    }

    @Test
    void missingThreadIsReportedAsGone() {
        var gone = assertThrows(ProcessGoneException.class, () -> proc.taskStatus(PID, 4000));
        assertEquals("thread 4000 of process 3695 does not exist", gone.getMessage());
        assertEquals(4000, gone.tid());
    }

    @Test
    void missingFileOfALiveProcessIsAnIoError() {
        var error = assertThrows(UncheckedIOException.class, () -> proc.fdInfo(PID, 99));
        assertInstanceOf(NoSuchFileException.class, error.getCause());
        assertThrows(UncheckedIOException.class, () -> proc.fdTarget(PID, 99));
    }
}
