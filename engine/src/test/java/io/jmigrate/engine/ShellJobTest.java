package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.DumpRefusedException;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.restore.RestoreException;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Pty;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.Spawn;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A program whose stdio is a terminal (a pty this test makes, as a shell would give it) is refused without
 * --shell-job, with the fd and terminal named, and runs on; with it, the restore connects fds 0-2 to another
 * terminal (the restoring side's), where the program goes on reading and answering lines.
 */
class ShellJobTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void terminalIsRefusedWithoutShellJobAndReconnectedWithIt() throws InterruptedException {
        try (Workloads workloads = new Workloads(); Pty shell = Pty.open(); Pty restoring = Pty.open()) {
            Path log = tmp.resolve("ttyecho.log");
            Path slave = Path.of(shell.slave());
            int pid = Spawn.spawn(new Spawn.Request(List.of(Workloads.fixture("ttyecho").toString(), log.toString()),
                    System.getenv(), tmp, slave, slave, slave, true));
            workloads.adopt(pid);
            Workloads.awaitLog(log, TIMEOUT, "ready", l -> l.stream().anyMatch(s -> s.startsWith("ready") || s.startsWith("CORRUPT")));
            shell.write("one\n".getBytes(StandardCharsets.UTF_8));
            Workloads.awaitLog(log, TIMEOUT, "the first line", l -> l.contains("got one tty " + slave));

            Path images = tmp.resolve("images");
            DumpRefusedException refused = assertThrows(DumpRefusedException.class, () -> new Dumper().dump(DumpOptions.of(pid, images)));
            assertTrue(refused.getMessage().contains("fd 0 of PID " + pid + " is the terminal " + slave + "; dump with --shell-job"),
                    refused::getMessage);
            assertFalse(Files.exists(images.resolve("inventory.img")), "no image set");
            shell.write("two\n".getBytes(StandardCharsets.UTF_8));
            Workloads.awaitLog(log, TIMEOUT, "a line after the refusal", l -> l.contains("got two tty " + slave));

            new Dumper().dump(DumpOptions.of(pid, images).withShellJob(true));
            Workloads.awaitGone(pid);
            List<FdEntry> fds = ImageSet.open(images).fds(pid).getFdsList();
            for (int fd = 0; fd <= 2; fd++) {
                int n = fd;
                FdEntry e = fds.stream().filter(f -> f.getFd() == n).findFirst().orElseThrow();
                assertEquals(FdKind.FD_TTY, e.getKind(), "fd " + fd);
                assertEquals(slave.toString(), e.getPath());
            }

            RestoreException noShellJob = assertThrows(RestoreException.class, () -> new Restorer().restore(RestoreOptions.of(images)));
            assertTrue(noShellJob.getMessage().contains("was the terminal " + slave + "; restore with --shell-job"), noShellJob::getMessage);
            assertFalse(Signals.exists(pid), "nothing was restored");

            int restored = new Restorer().restore(RestoreOptions.of(images).withShellJob(Path.of(restoring.slave()))).pid();
            workloads.adopt(restored);
            assertEquals(pid, restored);
            restoring.write("three\n".getBytes(StandardCharsets.UTF_8));
            Workloads.awaitLog(log, TIMEOUT, "a line typed into the restoring terminal",
                    l -> l.contains("got three tty " + restoring.slave()) || l.stream().anyMatch(s -> s.startsWith("CORRUPT")));
            assertTrue(Workloads.lines(log).contains("got three tty " + restoring.slave()), () -> Workloads.lines(log).toString());
            StringBuilder screen = new StringBuilder();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!screen.toString().contains("echo: three")) {
                if (System.nanoTime() > deadline) throw new AssertionError("the answer never reached the terminal: " + screen);
                screen.append(new String(restoring.readAvailable(), StandardCharsets.UTF_8));
                Thread.sleep(5);
            }
            assertTrue(Workloads.alive(pid));
        }
    }
}
