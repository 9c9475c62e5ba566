package io.jmigrate.engine.restore;

import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.compel.SyscallSite;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Mman;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.Reaper;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.Spawn;
import io.jmigrate.engine.sys.SyscallNumbers;
import io.jmigrate.engine.sys.Wait;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Makes the task that becomes the restored process, with the PID it had: a seed process is spawned and seized,
 * and clone3 with set_tid is injected into it. The child (the puppet) is attached to us from birth; the seed is
 * then killed, so the puppet is re-parented like any orphan and runs detached once released.
 */
final class SeedSpawner {
    private static final int PTRACE_OPTIONS = Ptrace.O_TRACESYSGOOD | Ptrace.O_TRACEFORK | Ptrace.O_EXITKILL;

    record Born(int puppetPid, long site, long scratch) {}

    private SeedSpawner() {}

    /**
     * @param scratch an address free in the dumped layout where the seed maps the scratch area the puppet
     *                inherits
     */
    static Born spawnPuppet(int pid, long scratch, long scratchSize) {
        int seed = Spawn.spawn(Spawn.Request.of(List.of(seedProgram(), "1000000")));
        try {
            Ptrace.seize(seed, PTRACE_OPTIONS);
            Ptrace.interrupt(seed);
            awaitEventStop(seed);
            long site = SyscallSite.find(seed);
            RemoteSyscalls inSeed = new RemoteSyscalls(seed, site, Ptrace.getRegs(seed), null);
            long got = inSeed.call("mmap scratch at 0x" + Long.toHexString(scratch), SyscallNumbers.MMAP, scratch,
                    scratchSize, Mman.PROT_READ | Mman.PROT_WRITE,
                    Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED_NOREPLACE, -1, 0);
            if (got != scratch) throw new RestoreException("kernel placed the scratch area at 0x" + Long.toHexString(got));
            ProcessForker.fork(new Puppet(seed, inSeed, scratch, scratchSize), pid);
            return new Born(pid, site, scratch);
        } finally {
            try {
                Signals.kill(seed, Signals.SIGKILL);
            } catch (ErrnoException ignored) {
                // already gone
            }
            Reaper.awaitGone(seed, Duration.ofSeconds(10));
        }
    }

    /** Waits for a PTRACE_EVENT_STOP (from PTRACE_INTERRUPT, or the first stop of an auto-attached child). */
    static void awaitEventStop(int tid) {
        while (true) {
            Wait.Status st = Wait.waitpid(tid, 0);
            if (st.gone()) throw new RestoreException("task " + tid + " died before it could be restored: " + st);
            if (st.stopped() && st.event() == Ptrace.EVENT_STOP) return;
            if (st.stopped()) Ptrace.cont(tid, 0);
        }
    }

    static String describe(int pid) {
        try {
            String comm = Files.readString(Path.of("/proc", Integer.toString(pid), "comm")).trim();
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return comm + (state == 'Z' ? " (a zombie nobody has reaped)" : " (running)");
        } catch (Exception e) {
            return "by a process that just exited";
        }
    }

    private static String seedProgram() {
        for (String candidate : List.of("/usr/bin/sleep", "/bin/sleep")) {
            if (Files.isExecutable(Path.of(candidate))) return candidate;
        }
        throw new RestoreException("no sleep binary found to start the restore from (/usr/bin/sleep)");
    }

}
