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
import io.jmigrate.engine.sys.Scheduling;
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

    /** Every process's pages, located in the image chain (PageSource) before the restore starts. */
    private java.util.Map<Integer, List<io.jmigrate.engine.image.PageSource.LocatedRun>> pages;

    public RestoreResult restore(RestoreOptions options) {
        ImageSet images = ImageSet.open(options.imagesDir());
        if (images.isPreDump()) {
            throw new RestoreException(options.imagesDir() + " is a pre-dump (the process ran on): restore the final dump made with --prev-images-dir");
        }
        // Resolved before anything is touched: a broken pre-dump chain is refused here.
        io.jmigrate.engine.image.LocalImageChain chain = io.jmigrate.engine.image.LocalImageChain.of(images, true);
        java.util.Map<Integer, List<io.jmigrate.engine.image.PageSource.LocatedRun>> located = new java.util.HashMap<>();
        for (ProcessEntry e : images.pstree().getProcessesList()) if (!e.getZombie()) located.put(e.getPid(), chain.locate(e.getPid()));
        this.pages = located;
        List<ProcessEntry> tree = images.pstree().getProcessesList();
        UnixSocketRestorer.verify(tree.stream().filter(e -> !e.getZombie()).map(e -> images.fds(e.getPid())).toList());
        for (ProcessEntry e : tree) {
            if (!e.getZombie()) FdRestorer.verify(fds(images, e.getPid(), options));
            for (int tid : e.getZombie() ? List.of(e.getPid()) : e.getThreadsList()) {
                if (Signals.exists(tid)) {
                    throw new RestoreException((tid == e.getPid() ? "PID " : "thread ID ") + tid + " is already in use by "
                            + SeedSpawner.describe(tid) + "; a process can only be restored with the PID it had");
                }
            }
        }
        try (Tracer tracer = new Tracer()) {
            return tracer.call(() -> restoreTree(options, images, tree));
        }
    }

    /** A process of the tree while it is being restored. */
    private record Member(ProcessEntry entry, Puppet puppet, StoppedThread held, List<ThreadTask> threads) {
        int pid() { return entry.getPid(); }
    }

    private RestoreResult restoreTree(RestoreOptions options, ImageSet images, List<ProcessEntry> tree) {
        long start = System.nanoTime();
        List<String> warnings = new ArrayList<>();
        int root = tree.getFirst().getPid();
        long scratch = freeAddress(tree.stream().filter(e -> !e.getZombie()).map(e -> images.mm(e.getPid())).toList(), SCRATCH_SIZE);
        List<Member> members = new ArrayList<>();
        boolean released = false;
        try {
            // Birth, parents first, while every puppet is still a copy of the seed: each child is forked from its
            // restored parent, so parent links are right; sessions are made as we go, so children inherit them.
            SeedSpawner.Born born = SeedSpawner.spawnPuppet(root, scratch, SCRATCH_SIZE);
            members.add(member(tree.getFirst(), born.site(), scratch));
            SessionRestorer.becomeSessionLeader(members.getFirst().puppet());
            List<FdTable> fdTables = tree.stream().filter(e -> !e.getZombie()).map(e -> fds(images, e.getPid(), options)).toList();
            PipeCarriers carriers = PipeCarriers.plan(fdTables);
            carriers.create(members.getFirst().puppet(), fdTables);      // before the forks: every child inherits them
            SharedMemoryCarriers sharedMemory = SharedMemoryCarriers.plan(images, tree, carriers.end());
            long shmemStart = System.nanoTime();
            long shmemBytes = sharedMemory.create(members.getFirst().puppet());
            if (sharedMemory.objectCount() > 0) {
                options.progress().accept(String.format("shared memory: %d object(s) made in the root, %.1f MiB filled in %.1f ms",
                        sharedMemory.objectCount(), shmemBytes / 1048576.0, (System.nanoTime() - shmemStart) / 1e6));
            }
            for (ProcessEntry e : tree.subList(1, tree.size())) {
                Member parent = members.stream().filter(m -> m.pid() == e.getPpid()).findFirst()
                        .orElseThrow(() -> new RestoreException("PID " + e.getPid() + ": its parent " + e.getPpid() + " is not in the images"));
                ProcessForker.fork(parent.puppet(), e.getPid());
                if (e.getZombie()) {
                    Zombies.die(e, parent.puppet().syscalls.site(), scratch, SCRATCH_SIZE);
                    continue;
                }
                Member child = member(e, parent.puppet().syscalls.site(), scratch);
                members.add(child);
                if (e.getSid() == e.getPid()) SessionRestorer.becomeSessionLeader(child.puppet());
            }
            SessionRestorer.restoreGroups(members.stream().map(m -> new SessionRestorer.Grouped(m.entry(), m.puppet())).toList(), root);
            options.progress().accept("created " + members.stream().map(Member::pid).toList());

            long memNanos = 0, pagesRestored = 0;
            for (Member m : members) {
                long t0 = System.nanoTime();
                pagesRestored += restoreProcess(options, images, m, carriers, sharedMemory, warnings);
                memNanos += System.nanoTime() - t0;
            }
            for (Member m : members) {
                for (ThreadTask t : m.threads()) {
                    int tid = t.core().getTid();
                    Ptrace.setXstate(tid, t.core().getXstate().toByteArray());
                    Ptrace.setRegs(tid, RegsProto.fromProto(t.core().getRegs()));
                }
            }
            for (Member m : members) {
                for (ThreadTask t : m.threads()) Ptrace.detach(t.core().getTid(), 0);
            }
            released = true;
            boolean connections = tree.stream().filter(e -> !e.getZombie())
                    .anyMatch(e -> images.fds(e.getPid()).getFdsList().stream().anyMatch(f -> f.hasTcpConn()));
            if (connections) io.jmigrate.engine.net.NetworkLock.unlock(root);   // the connections have their sockets again
            for (Member m : members) {
                for (ThreadTask t : m.threads()) {
                    for (int sig : t.held().deferredSignals()) Signals.tgkill(m.pid(), t.core().getTid(), sig);
                }
            }
            warnings.forEach(w -> options.progress().accept("warning: " + w));
            return new RestoreResult(root, System.nanoTime() - start, memNanos, pagesRestored, warnings);
        } catch (ErrnoException e) {
            throw new RestoreException("restore of PID " + root + " failed: " + e.getMessage(), e);
        } finally {
            if (!released) {
                for (Member m : members) {
                    try {
                        Signals.kill(m.pid(), Signals.SIGKILL);
                    } catch (ErrnoException ignored) {
                        // already gone
                    }
                }
                for (Member m : members) Reaper.awaitGone(m.pid(), Duration.ofSeconds(10));
            }
        }
    }

    private static Member member(ProcessEntry entry, long site, long scratch) {
        int pid = entry.getPid();
        StoppedThread held = StoppedThread.held(pid, Ptrace.getRegs(pid));
        RemoteSyscalls syscalls = new RemoteSyscalls(pid, site, held.savedRegs(), held);
        Puppet puppet = new Puppet(pid, syscalls, scratch, SCRATCH_SIZE);
        TaskStateRestorer.unregisterInheritedRseq(puppet);
        return new Member(entry, puppet, held, new ArrayList<>());
    }

    /** Everything of one process but its final registers and release; returns the pages restored. */
    private long restoreProcess(RestoreOptions options, ImageSet images, Member m, PipeCarriers carriers,
                                SharedMemoryCarriers sharedMemory, List<String> warnings) {
        int pid = m.pid();
        Puppet puppet = m.puppet();
        ProcessCore core = images.core(pid);
        MmImage mm = images.mm(pid);
        CgroupRestorer.join(procfs, pid, core.getCgroupsList(), warnings);   // before its memory is charged anywhere
        AddressSpaceRestorer memory = new AddressSpaceRestorer(puppet, procfs, sharedMemory);
        memory.restore(mm, pages.get(pid));
        options.progress().accept(String.format("PID %d: restored %d VMAs and %d pages (map %.1f ms, fill %.1f ms)",
                pid, mm.getVmasCount(), memory.pagesRestored, memory.mapNanos / 1e6, memory.fillNanos / 1e6));

        FdRestorer.restore(puppet, fds(images, pid, options), carriers, sharedMemory);
        TaskStateRestorer.restoreProcess(puppet, core, warnings);
        ThreadCore leader = core.getThreads(0);
        TaskStateRestorer.restoreThread(puppet, leader);
        m.threads().add(new ThreadTask(leader, puppet, m.held()));
        for (ThreadCore thread : core.getThreadsList().subList(1, core.getThreadsCount())) {
            m.threads().add(ThreadCreator.create(puppet, thread));
        }
        if (m.threads().size() > 1) options.progress().accept("PID " + pid + ": created " + (m.threads().size() - 1) + " more thread(s)");
        PosixTimerRestorer.create(puppet, core.getPosixTimersList());     // SIGEV_THREAD_ID targets exist now
        for (ThreadTask t : m.threads()) {
            ThreadCore tc = t.core();
            if (tc.getSchedPolicy() != 0) Scheduling.setPolicy(tc.getTid(), tc.getSchedPolicy(), tc.getRtPriority());
            if (tc.getNice() != 0) Scheduling.setNice(tc.getTid(), tc.getNice());
        }
        for (ThreadTask t : m.threads()) SeccompRestorer.restore(t.puppet(), t.core());   // needs root; see there
        for (ThreadTask t : m.threads()) CredentialsRestorer.restore(t.puppet(), core.getCreds());   // last: drops root
        puppet.call("munmap scratch", SyscallNumbers.MUNMAP, puppet.scratch, SCRATCH_SIZE);

        for (ThreadTask t : m.threads()) Ptrace.setSigmask(t.core().getTid(), t.core().getSigmask());
        PendingSignals.requeueShared(puppet, core, leader);
        for (ThreadTask t : m.threads()) PendingSignals.requeue(t.puppet(), t.core());
        PosixTimerRestorer.arm(puppet, leader, core.getPosixTimersList());   // last: their time runs from here
        return memory.pagesRestored;
    }

    /** The process's descriptors as they are to be restored: terminals connected to ours (--shell-job). */
    private static FdTable fds(ImageSet images, int pid, RestoreOptions options) {
        return ShellJob.connect(pid, images.fds(pid), options.shellJobTerminal());
    }

    /** An address range of {@code size} bytes that no dumped VMA uses, high in the address space. */
    static long freeAddress(List<MmImage> mms, long size) {
        long candidate = 0x7e0000000000L;
        boolean moved = true;
        while (moved) {
            moved = false;
            for (Vma v : mms.stream().flatMap(mm -> mm.getVmasList().stream()).toList()) {
                if (v.getStart() < candidate + size + Mman.PAGE_SIZE && v.getEnd() + Mman.PAGE_SIZE > candidate) {
                    candidate = v.getStart() - size - (1L << 30);
                    moved = true;
                }
            }
        }
        return candidate & ~(Mman.PAGE_SIZE - 1);
    }
}
