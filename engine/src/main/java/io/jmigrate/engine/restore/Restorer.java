package io.jmigrate.engine.restore;

import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.compel.StoppedThread;
import io.jmigrate.engine.compel.Tracer;
import io.jmigrate.engine.dump.RegsProto;
import io.jmigrate.engine.image.ImageSet;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Mman;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.Reaper;
import io.jmigrate.engine.sys.Signals;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Recreates a dumped process with its PID, memory, files and registers, and lets it run detached.
 * The recipe:
 * <ol>
 *   <li>open and verify the images (checksums, completeness), check the PID is free and the files exist;</li>
 *   <li>birth: a seed process clones the puppet with the dumped PID (clone3 set_tid);</li>
 *   <li>address space: unmap the seed's, move the vDSO, set mm fields, map the VMAs, fill the pages;</li>
 *   <li>files, then process state (limits, signal handlers, cwd, session, name);</li>
 *   <li>thread state (tid address, robust list, rseq, altstack), signal mask, FPU state, registers;</li>
 *   <li>release: detach, and the process carries on from the instruction it was frozen at.</li>
 * </ol>
 * A failure at any step kills the puppet: nothing half-restored is left running.
 */
public final class Restorer {
    static final long SCRATCH_SIZE = 256 * 1024;

    private final ProcFs procfs;

    public Restorer() {
        this(new ProcFs());
    }

    public Restorer(ProcFs procfs) {
        this.procfs = procfs;
    }

    public RestoreResult restore(RestoreOptions options) {
        ImageSet images = ImageSet.open(options.imagesDir());
        ProcessEntry entry = images.pstree().getProcesses(0);
        int pid = entry.getPid();
        ProcessCore core = images.core(pid);
        MmImage mm = images.mm(pid);
        FdTable fds = images.fds(pid);
        PageIndex pages = images.pageIndex(pid);
        FdRestorer.verify(fds);
        if (Signals.exists(pid)) {
            throw new RestoreException("PID " + pid + " is already in use by " + SeedSpawner.describe(pid)
                    + "; a process can only be restored with the PID it had");
        }
        try (Tracer tracer = new Tracer()) {
            return tracer.call(() -> restoreOnTracer(options, images, pid, core, mm, fds, pages));
        }
    }

    private RestoreResult restoreOnTracer(RestoreOptions options, ImageSet images, int pid, ProcessCore core,
                                          MmImage mm, FdTable fds, PageIndex pages) {
        long start = System.nanoTime();
        List<String> warnings = new ArrayList<>();
        long scratch = freeAddress(mm, SCRATCH_SIZE);
        SeedSpawner.Born born = SeedSpawner.spawnPuppet(pid, scratch, SCRATCH_SIZE);
        boolean released = false;
        try {
            options.progress().accept("created PID " + pid);
            StoppedThread held = StoppedThread.held(pid, Ptrace.getRegs(pid));
            RemoteSyscalls syscalls = new RemoteSyscalls(pid, born.site(), held.savedRegs(), held);
            Puppet puppet = new Puppet(pid, syscalls, scratch, SCRATCH_SIZE);
            TaskStateRestorer.unregisterInheritedRseq(puppet);

            long memStart = System.nanoTime();
            AddressSpaceRestorer memory = new AddressSpaceRestorer(puppet, procfs);
            memory.restore(mm, pages, images.pagesPath(pid));
            long memNanos = System.nanoTime() - memStart;
            options.progress().accept(String.format("restored %d VMAs and %d pages in %.1f ms (map %.1f, fill %.1f)",
                    mm.getVmasCount(), memory.pagesRestored, memNanos / 1e6, memory.mapNanos / 1e6, memory.fillNanos / 1e6));

            FdRestorer.restore(puppet, fds);
            TaskStateRestorer.restoreProcess(puppet, core, warnings);
            ThreadCore leader = core.getThreads(0);
            TaskStateRestorer.restoreThread(puppet, leader);
            List<ThreadTask> threads = new ArrayList<>();
            threads.add(new ThreadTask(leader, puppet, held));
            for (ThreadCore thread : core.getThreadsList().subList(1, core.getThreadsCount())) {
                threads.add(ThreadCreator.create(puppet, thread));
            }
            if (threads.size() > 1) options.progress().accept("created " + (threads.size() - 1) + " more thread(s)");
            puppet.call("munmap scratch", SyscallNumbers.MUNMAP, scratch, SCRATCH_SIZE);

            for (ThreadTask t : threads) Ptrace.setSigmask(t.core().getTid(), t.core().getSigmask());
            PendingSignals.requeueShared(puppet, core, leader);
            for (ThreadTask t : threads) PendingSignals.requeue(t.puppet(), t.core());
            for (ThreadTask t : threads) {
                int tid = t.core().getTid();
                Ptrace.setXstate(tid, t.core().getXstate().toByteArray());
                Ptrace.setRegs(tid, RegsProto.fromProto(t.core().getRegs()));
            }
            for (ThreadTask t : threads) Ptrace.detach(t.core().getTid(), 0);
            released = true;
            for (ThreadTask t : threads) {
                for (int sig : t.held().deferredSignals()) Signals.tgkill(pid, t.core().getTid(), sig);
            }
            warnings.forEach(w -> options.progress().accept("warning: " + w));
            return new RestoreResult(pid, System.nanoTime() - start, memNanos, memory.pagesRestored, warnings);
        } catch (ErrnoException e) {
            throw new RestoreException("restore of PID " + pid + " failed: " + e.getMessage(), e);
        } finally {
            if (!released) {
                try {
                    Signals.kill(pid, Signals.SIGKILL);
                } catch (ErrnoException ignored) {
                    // already gone
                }
                Reaper.awaitGone(pid, Duration.ofSeconds(10));
            }
        }
    }

    /** An address range of {@code size} bytes that no dumped VMA uses, high in the address space. */
    static long freeAddress(MmImage mm, long size) {
        long candidate = 0x7e0000000000L;
        boolean moved = true;
        while (moved) {
            moved = false;
            for (Vma v : mm.getVmasList()) {
                if (v.getStart() < candidate + size + Mman.PAGE_SIZE && v.getEnd() + Mman.PAGE_SIZE > candidate) {
                    candidate = v.getStart() - size - (1L << 30);
                    moved = true;
                }
            }
        }
        return candidate & ~(Mman.PAGE_SIZE - 1);
    }
}
