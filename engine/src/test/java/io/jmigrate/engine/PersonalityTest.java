package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The personality comes back (ADDR_NO_RANDOMIZE | UNAME26: the restored program still sees a 2.6 kernel release).
 * (no_new_privs is covered by CredentialsTest, seccomp by SeccompTest.)
 */
class PersonalityTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final int ADDR_NO_RANDOMIZE = 0x0040000, UNAME26 = 0x0020000;
    private static final ProcFs PROC = new ProcFs();

    @TempDir
    Path tmp;

    @Test
    void personalityComesBack() {
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("persona.log");
            int pid = workloads.start(log, Workloads.fixture("persona").toString(), log.toString());
            Workloads.awaitLog(log, TIMEOUT, "2 ticks", l -> TickLog.lastTick(l) >= 2);
            assertEquals(ADDR_NO_RANDOMIZE | UNAME26, PROC.personality(pid));

            Path images = tmp.resolve("images");
            new Dumper().dump(DumpOptions.of(pid, images));
            Workloads.awaitGone(pid);
            workloads.adopt(new Restorer().restore(RestoreOptions.of(images)).pid());
            assertEquals(ADDR_NO_RANDOMIZE | UNAME26, PROC.personality(pid), "/proc/PID/personality after restore");

            Signals.kill(pid, Signals.SIGUSR1);
            List<String> lines = Workloads.awaitLog(log, TIMEOUT, "the program's own report",
                    l -> l.stream().anyMatch(s -> s.startsWith("personality ")));
            String report = lines.stream().filter(s -> s.startsWith("personality ")).findFirst().orElseThrow();
            assertTrue(report.startsWith("personality 0x60000 uname 2.6."), report);
            TickLog.assertConsecutive(lines);
        }
    }
}
