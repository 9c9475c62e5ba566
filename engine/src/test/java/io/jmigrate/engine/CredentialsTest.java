package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.proc.ProcStatus;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An unprivileged process comes back with its uids, gids, groups, capability sets and no_new_privs. */
class CredentialsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void nobodyWithNoNewPrivsStaysNobody() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("shared"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path log = Files.createFile(dir.resolve("memhog.log"));
        Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-rw-rw-"));
        ProcFs procfs = new ProcFs();
        try (Workloads workloads = new Workloads()) {
            int pid = workloads.start(dir.resolve("out.log"), "/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                    "--groups=65534,100", "--no-new-privs", "--", Workloads.fixture("memhog").toString(), log.toString(), "8", "sleep");
            Workloads.awaitLog(log, TIMEOUT, "ticks", l -> TickLog.lastTick(l) >= 3);
            ProcStatus before = procfs.status(pid);
            assertEquals(65534, before.uids().effective(), "the fixture runs as nobody");
            assertTrue(before.noNewPrivs());

            new Dumper().dump(DumpOptions.of(pid, tmp.resolve("images")));
            Workloads.awaitGone(pid);
            long ticks = TickLog.lastTick(Workloads.lines(log));
            assertEquals(pid, new Restorer().restore(RestoreOptions.of(tmp.resolve("images"))).pid());

            ProcStatus after = procfs.status(pid);
            assertEquals(before.uids(), after.uids(), "uids");
            assertEquals(before.gids(), after.gids(), "gids");
            assertEquals(before.groups(), after.groups(), "supplementary groups");
            assertEquals(before.capEff(), after.capEff(), "effective capabilities");
            assertEquals(before.capPrm(), after.capPrm(), "permitted capabilities");
            assertEquals(before.capBnd(), after.capBnd(), "bounding set");
            assertEquals(before.noNewPrivs(), after.noNewPrivs(), "no_new_privs");
            TickLog.assertConsecutive(Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 3));
        }
    }
}
