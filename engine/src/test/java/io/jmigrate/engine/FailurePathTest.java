package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpRefusedException;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageException;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.restore.RestoreException;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Bad input gets a clear, one-line error and changes nothing: a refused dump leaves its process running untraced
 * and ticking, with no image set written; a failed restore leaves no process behind and the images untouched.
 * Every case runs real processes; where a failure depends on one damaged input, a control step shows that the
 * same thing works once the damage is undone.
 */
class FailurePathTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final Pattern CHILD = Pattern.compile("child (\\d+)");
    private static final ProcFs PROC = new ProcFs();

    @TempDir
    Path tmp;

    // ---- dumps of things that are not a dumpable process -------------------------------------------------------

    @Test
    void dumpOfAPidThatDoesNotExist() {
        int pid;
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("true.log");
            pid = workloads.start(log, "/bin/true");
            Workloads.awaitGone(pid);                       // exited and reaped: the PID is free now
        }
        assertFalse(Signals.exists(pid));
        Path images = tmp.resolve("images");
        assertRefused(pid, images, "no process with PID " + pid);
        assertFalse(Files.exists(images), "a refused dump creates no images directory");

        // (read by lines: Files.readString of this size-0 sysctl file returns just "3": its first read is 1 byte long,
        // and an integer sysctl reads as empty from any offset but 0)
        int pidMax = Integer.parseInt(readLines(Path.of("/proc/sys/kernel/pid_max")).getFirst().strip());
        assertRefused(pidMax, images, "no process with PID " + pidMax);   // PIDs are always below pid_max
        assertFalse(Files.exists(images));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
    void dumpOfAnInvalidPid(int pid) {
        Path images = tmp.resolve("images");
        String message = assertRefused(pid, images, "invalid PID " + pid);
        assertTrue(message.contains("running process"), message);
        assertFalse(Files.exists(images));
    }

    @Test
    void dumpOfAKernelThread() {
        assumeTrue(Files.exists(Path.of("/proc/2/comm")) && PROC.comm(2).equals("kthreadd"),
                "PID 2 is kthreadd only outside a PID namespace");
        Path images = tmp.resolve("images");
        String message = assertRefused(2, images, "PID 2 (kthreadd) is a kernel thread");
        assertTrue(message.contains("only user processes"), message);
        assertFalse(Files.exists(images));
        assertEquals(0, PROC.status(2).tracerPid());
    }

    @Test
    void dumpOfTheTestJvmItself() {
        int self = (int) ProcessHandle.current().pid();
        Path images = tmp.resolve("images");
        String message = assertRefused(self, images, "PID " + self + " is jmigrate itself");
        assertTrue(message.contains("cannot checkpoint itself"), message);
        assertFalse(Files.exists(images));
    }

    @Test
    void dumpOfAZombie() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("holder.log");
            int holder = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), "zombie");
            int zombie = childOf(log);
            workloads.adopt(zombie);                       // re-parented to us when the holder is killed at close
            await("PID " + zombie + " to be a zombie", () -> PROC.stat(zombie).state() == 'Z');
            Path images = tmp.resolve("images");
            String message = assertRefused(zombie, images, "PID " + zombie + " (holder) is a zombie");
            assertTrue(message.contains("has exited"), message);
            assertFalse(Files.exists(images));
            assertEquals('Z', PROC.stat(zombie).state(), "the zombie is still there, unreaped by the dump");
            assertRunsUntouched(holder, log);
        }
    }

    @Test
    void dumpOfAProcessTracedBySomeoneElse() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("holder.log");
            int holder = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), "tracee");
            int tracee = childOf(log);
            workloads.adopt(tracee);
            assertEquals(holder, PROC.status(tracee).tracerPid(), "the child is traced by the holder");
            Path images = tmp.resolve("images");
            String message = assertRefused(tracee, images, "PID " + tracee + " (holder) is being traced by PID " + holder);
            assertTrue(message.contains("detach it first"), message);
            assertFalse(Files.exists(images));
            assertTrue(Workloads.alive(tracee));
            assertEquals(holder, PROC.status(tracee).tracerPid(), "the dump did not take the tracee from its tracer");
            assertRunsUntouched(holder, log);
        }
    }

    @Test
    void dumpIntoAPathThatIsAFile() throws IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("holder.log");
            int pid = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), "none");
            awaitTicks(log, 3);
            Path file = Files.writeString(tmp.resolve("images"), "a file, not a directory\n");
            ImageException e = assertThrows(ImageException.class, () -> new Dumper().dump(DumpOptions.of(pid, file)));
            assertMessage(e, file + " exists and is not a directory");
            assertEquals("a file, not a directory\n", Files.readString(file));
            assertRunsUntouched(pid, log);
        }
    }

    // ---- dumps of live processes holding something we refuse ---------------------------------------------------

    /** What the holder fixture holds, and the words the refusal must say about it. */
    enum Held {
        PIPE("pipe", "is one end of pipe:[", "whose other end belongs to a process outside the dumped tree"),
        SOCKET("socket", "is a TCP socket (socket:[", "only listening TCP sockets are supported"),
        IO_URING("iouring", "is an io_uring instance", "run the program without io_uring"),
        FANOTIFY("fanotify", "is [fanotify]", "not supported yet", "eventfd, timerfd, signalfd, epoll"),
        USERFAULTFD("uffd", "is registered with userfaultfd", "not supported"),
        DELETED_FILE("deleted", "is the deleted file ", "holder.deleted", "not supported"),
        UNKNOWN_DEVICE("kmsg", "is the character device /dev/kmsg", "only /dev/null, /dev/zero");

        final String arg;
        final List<String> words;

        Held(String arg, String... words) {
            this.arg = arg;
            this.words = List.of(words);
        }
    }

    @ParameterizedTest
    @EnumSource(Held.class)
    void refusedDumpLeavesTheProcessRunningUntracedAndNoImages(Held held) {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("holder-" + held.arg + ".log");
            int pid = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), held.arg);
            int child = 0;
            awaitTicks(log, 3);

            Path images = tmp.resolve("images-" + held.arg);
            String message = assertRefused(pid, images, "PID " + (child != 0 ? child : pid));
            for (String w : held.words) assertTrue(message.contains(w), () -> "\"" + w + "\" missing from: " + message);

            assertRunsUntouched(pid, log);
            assertNoImageSet(images);
            assertFalse(Files.exists(images), "the images directory the dump created is removed again");
        }
    }

    /** A refusal after the freeze (the pipe is found while collecting) removes only what the dump wrote. */
    @Test
    void refusedDumpIntoAnExistingDirectoryKeepsItsOtherFiles() throws IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("holder.log");
            int pid = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), "pipe");
            awaitTicks(log, 3);
            Path images = Files.createDirectory(tmp.resolve("images"));
            Files.writeString(images.resolve("notes.txt"), "someone else's file\n");
            Map<String, String> before = snapshot(images);

            assertRefused(pid, images, "is one end of pipe:[");

            assertRunsUntouched(pid, log);
            assertNoImageSet(images);
            assertEquals(before, snapshot(images), "the directory holds what it held before, nothing more");
        }
    }

    /** A dump that is refused does not cost the complete image set already in its directory. */
    @Test
    void refusedDumpKeepsAnOlderCompleteImageSet() {
        try (Workloads workloads = new Workloads()) {
            Path images = tmp.resolve("images");
            Path goodLog = tmp.resolve("good.log");
            int good = workloads.start(goodLog, Workloads.fixture("holder").toString(), goodLog.toString(), "none");
            awaitTicks(goodLog, 3);
            new Dumper().dump(DumpOptions.of(good, images).leavingRunning(true));
            long created = ImageSet.open(images).inventory().getCreatedUnixMs();

            Path log = tmp.resolve("holder.log");
            int pid = workloads.start(log, Workloads.fixture("holder").toString(), log.toString(), "pipe");
            awaitTicks(log, 3);
            assertRefused(pid, images, "is one end of pipe:[");
            assertEquals(created, ImageSet.open(images).inventory().getCreatedUnixMs(), "the older set is intact");
        }
    }

    // ---- restores from bad image directories --------------------------------------------------------------------

    @Test
    void restoreFromAMissingDirectory() {
        Path missing = tmp.resolve("no-such-dir");
        Set<Integer> children = childrenOfThisJvm();
        ImageException e = assertThrows(ImageException.class, () -> new Restorer().restore(RestoreOptions.of(missing)));
        assertMessage(e, missing + " does not exist");
        assertFalse(Files.exists(missing), "restore created nothing");
        assertEquals(children, childrenOfThisJvm(), "no process was started");
    }

    @Test
    void restoreFromAnEmptyDirectory() throws IOException {
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        Set<Integer> children = childrenOfThisJvm();
        ImageException e = assertThrows(ImageException.class, () -> new Restorer().restore(RestoreOptions.of(empty)));
        assertMessage(e, empty + " is not a jmigrate image directory (no inventory.img)");
        assertEquals(Map.of(), snapshot(empty), "restore wrote nothing into the directory");
        assertEquals(children, childrenOfThisJvm(), "no process was started");
    }

    @Test
    void restoreFromAFileInsteadOfADirectory() throws IOException {
        Path file = Files.writeString(tmp.resolve("inventory.img"), "not a directory");
        ImageException e = assertThrows(ImageException.class, () -> new Restorer().restore(RestoreOptions.of(file)));
        assertMessage(e, file + " is not a directory");
    }

    @Test
    void restoreFromAForeignDirectory() throws IOException {
        Path foreign = Files.createDirectory(tmp.resolve("foreign"));
        java.util.Random random = new java.util.Random(42);
        for (String name : List.of("README", "core.img", "pages-1.img", "data.bin")) {
            byte[] junk = new byte[1 + random.nextInt(10_000)];
            random.nextBytes(junk);
            Files.write(foreign.resolve(name), junk);
        }
        Map<String, String> before = snapshot(foreign);
        Set<Integer> children = childrenOfThisJvm();
        ImageException e = assertThrows(ImageException.class, () -> new Restorer().restore(RestoreOptions.of(foreign)));
        assertMessage(e, foreign + " is not a jmigrate image directory (no inventory.img)");

        // the same with an inventory.img that is not ours
        byte[] junk = new byte[4096];
        random.nextBytes(junk);
        junk[0] = 'X';
        Files.write(foreign.resolve("inventory.img"), junk);
        before = snapshot(foreign);
        e = assertThrows(ImageException.class, () -> new Restorer().restore(RestoreOptions.of(foreign)));
        assertMessage(e, foreign.resolve("inventory.img") + " is not a jmigrate image (bad magic)");
        assertEquals(before, snapshot(foreign), "restore changed nothing in the directory");
        assertEquals(children, childrenOfThisJvm(), "no process was started");
    }

    /** One way to damage a good image set, and the words the refusal must say. */
    enum Damage {
        TRUNCATED_CORE("core-%d.img", "is truncated"),
        TRUNCATED_PAGES("pages-%d.img", "is truncated"),
        APPENDED_TO_PAGES("pages-%d.img", "bytes past the end of its payload"),
        FLIPPED_BYTE_IN_PAGES("pages-%d.img", "checksum mismatch"),
        FLIPPED_BYTE_IN_CORE("core-%d.img", "checksum mismatch"),
        FLIPPED_BYTE_IN_INVENTORY("inventory.img", "checksum mismatch"),
        FLIPPED_MAGIC_OF_MM("mm-%d.img", "bad magic"),
        MISSING_MM("mm-%d.img", "is missing (listed in inventory.img)"),
        MISSING_INVENTORY("inventory.img", "no inventory.img");

        final String file;
        final String words;

        Damage(String file, String words) {
            this.file = file;
            this.words = words;
        }

        void apply(Path dir, int pid) throws IOException {
            Path f = dir.resolve(file.formatted(pid));
            long size = Files.size(f);
            switch (this) {
                case TRUNCATED_CORE -> truncate(f, size / 2);
                case TRUNCATED_PAGES -> truncate(f, size - 4096);
                case APPENDED_TO_PAGES -> Files.write(f, new byte[4096], StandardOpenOption.APPEND);
                case FLIPPED_BYTE_IN_PAGES -> flip(f, 4096 + (size - 4096) / 2);   // in the middle of the page data
                case FLIPPED_BYTE_IN_CORE, FLIPPED_BYTE_IN_INVENTORY -> flip(f, size - 1);   // in the payload
                case FLIPPED_MAGIC_OF_MM -> flip(f, 0);
                case MISSING_MM, MISSING_INVENTORY -> Files.delete(f);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Damage.class)
    void restoreFromDamagedImagesFailsClearlyAndStartsNothing(Damage damage) throws IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("memhog.log");
            int pid = workloads.start(log, Workloads.fixture("memhog").toString(), log.toString(), "8", "sleep");
            awaitTicks(log, 3);
            Path pristine = tmp.resolve("pristine");
            new Dumper().dump(DumpOptions.of(pid, pristine));
            Workloads.awaitGone(pid);

            Path damaged = copyTree(pristine, tmp.resolve("damaged"));
            damage.apply(damaged, pid);
            Map<String, String> before = snapshot(damaged);
            Set<Integer> children = childrenOfThisJvm();

            RuntimeException e = assertThrows(RuntimeException.class, () -> new Restorer().restore(RestoreOptions.of(damaged)));
            assertInstanceOf(ImageException.class, e, () -> "an image problem is reported as one: " + e);
            String file = damage.file.formatted(pid);
            assertMessage(e, damage == Damage.MISSING_INVENTORY ? damaged.toString() : damaged.resolve(file).toString());
            assertMessage(e, damage.words);

            assertFalse(Signals.exists(pid), "no process holds PID " + pid + " after the failed restore");
            assertEquals(children, childrenOfThisJvm(), "no process was started");
            assertEquals(before, snapshot(damaged), "restore changed nothing in the images");

            // control: the undamaged images restore fine, so it was the damage that made the restore fail
            assertEquals(pid, new Restorer().restore(RestoreOptions.of(pristine)).pid());
            workloads.adopt(pid);
            assertRestoredTicksOn(pid, log);
        }
    }

    // ---- restores that collide with the live system --------------------------------------------------------------

    @Test
    void restoreWhileThePidIsInUseFailsAndLeavesTheOriginalAlone() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("memhog.log");
            int pid = workloads.start(log, Workloads.fixture("memhog").toString(), log.toString(), "8", "sleep");
            awaitTicks(log, 3);
            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images).leavingRunning(true));
            assertTrue(Workloads.alive(pid));
            Set<Integer> children = childrenOfThisJvm();
            assertEquals(Set.of(pid), children, "only the memhog is our child");

            RestoreException e = assertThrows(RestoreException.class, () -> new Restorer().restore(RestoreOptions.of(images)));
            assertMessage(e, "PID " + pid + " is already in use by memhog (running)");
            assertMessage(e, "only be restored with the PID it had");

            assertRunsUntouched(pid, log);
            assertEquals(children, childrenOfThisJvm(), "no extra process appeared");
            ImageSet.open(images);                          // the images are still whole
        }
    }

    /** memhog (8 MiB, sleeping) started, dumped into {@code images} and gone; returns its PID. */
    private static int dumpedMemhog(Workloads workloads, Path log, Path images) {
        int pid = workloads.start(log, Workloads.fixture("memhog").toString(), log.toString(), "8", "sleep");
        awaitTicks(log, 3);
        new Dumper().dump(DumpOptions.of(pid, images));
        Workloads.awaitGone(pid);
        return pid;
    }

    /** The log file now is a directory: the images pass every check, and the restore fails late, inside the new task. */
    @Test
    void failureInsideTheRestoredTaskKillsItAndFreesThePid() throws IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("memhog.log"), images = tmp.resolve("images");
            int pid = dumpedMemhog(workloads, log, images);

            Path moved = tmp.resolve("memhog.log.moved");
            Files.move(log, moved);
            Files.createDirectory(log);
            Set<Integer> children = childrenOfThisJvm();
            RestoreException e = assertThrows(RestoreException.class, () -> new Restorer().restore(RestoreOptions.of(images)));
            assertMessage(e, "restore of PID " + pid + " failed");
            assertMessage(e, log.toString());
            assertMessage(e, "EISDIR");
            assertFalse(Signals.exists(pid), "the half-restored process is gone");
            assertEquals(children, childrenOfThisJvm(), "nothing the restore started is left");

            Files.delete(log);
            Files.move(moved, log);
            assertEquals(pid, new Restorer().restore(RestoreOptions.of(images)).pid(), "with the file back, it works");
            workloads.adopt(pid);
            assertRestoredTicksOn(pid, log);
        }
    }

    @Test
    void restoreFailsWhenAFileTheProcessHadOpenIsGone() throws IOException {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("memhog.log"), images = tmp.resolve("images");
            int pid = dumpedMemhog(workloads, log, images);

            Path moved = tmp.resolve("memhog.log.moved");
            Files.move(log, moved);
            Set<Integer> children = childrenOfThisJvm();
            RestoreException e = assertThrows(RestoreException.class, () -> new Restorer().restore(RestoreOptions.of(images)));
            assertMessage(e, log + " cannot be reopened");
            assertFalse(Signals.exists(pid), "no process holds PID " + pid);
            assertEquals(children, childrenOfThisJvm(), "nothing the restore started is left");
            assertFalse(Files.exists(log), "restore did not recreate the file");

            Files.move(moved, log);
            assertEquals(pid, new Restorer().restore(RestoreOptions.of(images)).pid());
            workloads.adopt(pid);
            assertRestoredTicksOn(pid, log);
        }
    }

    /** The program's executable is gone: the restore gets as far as setting the exe link inside the new task. */
    @Test
    void restoreFailsWhenTheExecutableIsGone() throws IOException {
        try (Workloads workloads = new Workloads()) {
            Path bin = Files.copy(Workloads.fixture("memhog"), tmp.resolve("memhog-copy"));
            Path log = tmp.resolve("memhog.log");
            int pid = workloads.start(log, bin.toString(), log.toString(), "8", "sleep");
            awaitTicks(log, 3);
            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);

            Path moved = tmp.resolve("memhog-copy.moved");
            Files.move(bin, moved);
            Set<Integer> children = childrenOfThisJvm();
            RuntimeException e = assertThrows(RuntimeException.class, () -> new Restorer().restore(RestoreOptions.of(images)));
            assertInstanceOf(RestoreException.class, e, () -> "reported as a restore failure: " + e);
            assertMessage(e, "PID " + pid);
            assertMessage(e, bin.toString());
            assertMessage(e, "ENOENT");
            assertFalse(Signals.exists(pid), "the half-restored process is gone");
            assertEquals(children, childrenOfThisJvm(), "nothing the restore started is left");

            Files.move(moved, bin);
            assertEquals(pid, new Restorer().restore(RestoreOptions.of(images)).pid());
            workloads.adopt(pid);
            assertRestoredTicksOn(pid, log);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    /** Dumps {@code pid}, which must be refused with a one-line message containing {@code words}; returns it. */
    private static String assertRefused(int pid, Path images, String words) {
        DumpRefusedException e = assertThrows(DumpRefusedException.class,
                () -> new Dumper().dump(DumpOptions.of(pid, images)));
        assertMessage(e, words);
        return e.getMessage();
    }

    private static void assertMessage(Throwable e, String words) {
        String m = e.getMessage();
        assertTrue(m != null && m.contains(words), () -> "expected \"" + words + "\" in the message of " + e);
        assertFalse(m.contains("\n"), () -> "the message is one line: " + m);
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
    }

    /** After a restore of a process killed by its dump: ticks go on from where they stopped, never restarting. */
    private static void assertRestoredTicksOn(int pid, Path log) {
        long ticks = TickLog.lastTick(Workloads.lines(log));
        List<String> after = Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 2);
        assertTrue(Workloads.alive(pid));
        TickLog.assertConsecutive(after);
    }

    private static void assertNoImageSet(Path images) {
        ImageException e = assertThrows(ImageException.class, () -> ImageSet.open(images));
        assertTrue(e.getMessage().contains("does not exist") || e.getMessage().contains("no inventory.img"), e.getMessage());
    }


    private static void awaitTicks(Path log, long n) {
        Workloads.awaitLog(log, TIMEOUT, n + " ticks", l -> TickLog.lastTick(l) >= n);
    }

    private static int childOf(Path log) {
        List<String> lines = Workloads.awaitLog(log, TIMEOUT, "the child's PID",
                l -> l.stream().anyMatch(s -> CHILD.matcher(s).matches()));
        for (String s : lines) {
            Matcher m = CHILD.matcher(s);
            if (m.matches()) return Integer.parseInt(m.group(1));
        }
        throw new AssertionError();
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out after " + TIMEOUT + " waiting for " + what);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }

    /** PIDs whose parent is this JVM (zombies included): spawned workloads, seeds, and orphans re-parented to us. */
    static Set<Integer> childrenOfThisJvm() {
        int self = (int) ProcessHandle.current().pid();
        Set<Integer> children = new TreeSet<>();
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            for (Path p : entries.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) continue;
                String stat;
                try {
                    stat = Files.readString(p.resolve("stat"));
                } catch (IOException gone) {
                    continue;
                }
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                if (Integer.parseInt(fields[1]) == self) children.add(Integer.parseInt(name));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return children;
    }

    /** File name to SHA-256 of its contents, for every file in {@code dir}. */
    static Map<String, String> snapshot(Path dir) {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : entries.toList()) {
                files.put(p.getFileName().toString(),
                        HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        return files;
    }

    private static Path copyTree(Path from, Path to) throws IOException {
        Files.createDirectory(to);
        try (Stream<Path> entries = Files.list(from)) {
            for (Path p : entries.toList()) Files.copy(p, to.resolve(p.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
        }
        return to;
    }

    private static void truncate(Path f, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    private static void flip(Path f, long offset) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x40));
            b.rewind();
            ch.write(b, offset);
        }
    }

    private static List<String> readLines(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
