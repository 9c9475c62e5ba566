package io.jmigrate.engine.dump;

import io.jmigrate.engine.Version;
import io.jmigrate.engine.compel.Freezer;
import io.jmigrate.engine.compel.FrozenProcess;
import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.compel.StoppedThread;
import io.jmigrate.engine.compel.Tracer;
import io.jmigrate.engine.image.ImageKind;
import io.jmigrate.engine.image.ImageSink;
import io.jmigrate.engine.image.ImageWriter;
import io.jmigrate.engine.image.PageSink;
import io.jmigrate.engine.image.PagesWriter;
import io.jmigrate.engine.image.proto.DumpStats;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.ProcessTree;
import io.jmigrate.engine.image.proto.Rlimit;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.proc.Limits;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.proc.ProcStat;
import io.jmigrate.engine.proc.ProcStatus;
import io.jmigrate.engine.sys.SyscallNumbers;
import io.jmigrate.engine.sys.Reaper;
import io.jmigrate.engine.sys.ZeroPage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checkpoints one process into an images directory. The recipe, in order:
 * <ol>
 *   <li>preflight: refuse what cannot be dumped before touching the process;</li>
 *   <li>freeze every thread (ptrace seize + interrupt);</li>
 *   <li>collect: address space, open files, per-thread state, signal dispositions, limits and misc;</li>
 *   <li>copy private memory into the pages file;</li>
 *   <li>write the metadata images and, last, the inventory that marks the set complete;</li>
 *   <li>kill the process, or resume it with {@code --leave-running}.</li>
 * </ol>
 * Any failure after the freeze resumes the process exactly as it was and leaves no inventory behind.
 */
public final class Dumper {
    private static final long SCRATCH_SIZE = 64 * 1024;   // 4 KiB for arguments, then the iovec array of pwritev

    private final ProcFs procfs;

    public Dumper() {
        this(new ProcFs());
    }

    public Dumper(ProcFs procfs) {
        this.procfs = procfs;
    }

    public DumpResult dump(DumpOptions options) {
        return dump(options, null);
    }

    /**
     * As {@link #dump(DumpOptions)}, into {@code sink} instead of a local directory ({@code imagesDir} is then
     * unused): a page server, for one. The sink is committed only if the dump succeeds and aborted otherwise.
     * {@code prevImagesDir} is read locally (for a page server: the shadow of the parent round, see page-server's
     * NetworkImageSink); the sink links the set to the parent its own way.
     */
    public DumpResult dump(DumpOptions options, ImageSink sink) {
        Preflight.check(procfs, options.pid());
        try (Tracer tracer = new Tracer()) {
            return tracer.call(() -> dumpTree(options, sink));
        }
    }

    /** One process of the tree while it is being dumped. */
    private record Member(int pid, PageSink pages, FrozenProcess frozen) {}

    /** What a process contributed to the image set. */
    private record Dumped(ProcessEntry entry, MemoryDumper memory, long memNanos, long dirtyPages) {}

    /** The pre-dump this dump builds on, or null. */
    private ParentImages parent;

    private boolean ownUffd(int pid) { return parent != null && parent.tracker(pid) != null; }

    private Set<Integer> ourFds(int pid) { return parent == null ? Set.of() : parent.ourFds(pid); }

    /** {@code sink} null: the local images directory. */
    private DumpResult dumpTree(DumpOptions options, ImageSink sink) {
        int root = options.pid();
        long startedAt = System.nanoTime();
        preFreezeSmaps.clear();
        parent = options.prevImagesDir() == null ? null : ParentImages.open(options.prevImagesDir(), options.imagesDir());
        List<Integer> tree = ProcessTreeWalker.walk(procfs, root);
        // Zombies have exited: nothing to freeze or copy, only their entry (their parent has yet to reap them).
        List<Integer> zombies = tree.stream().filter(pid -> pid != root && isZombie(pid)).toList();
        tree = tree.stream().filter(pid -> !zombies.contains(pid)).toList();
        Map<Integer, FdTable> rehearsedFds = new LinkedHashMap<>();
        for (int pid : tree) {
            if (pid != root) Preflight.check(procfs, pid);
            rehearse(pid);                               // refusals before an old image set is replaced
            rehearsedFds.put(pid, FdCollector.collect(procfs, pid, false, options.shellJob(), ourFds(pid)));   // running: socket queues are not read
        }
        PipeCollector.check(rehearsedFds);
        long sharingCheck = System.nanoTime();
        int outside = SharedMemoryCollector.checkNotSharedOutside(procfs, tree, rehearsedFds);
        if (outside > 0) {
            options.progress().accept(String.format("shared memory: %d processes outside the tree use none of it (checked in %.1f ms)",
                    outside, (System.nanoTime() - sharingCheck) / 1e6));
        }
        TcpListenCollector.checkNotShared(rehearsedFds);
        TcpConnCollector.checkAcrossTree(rehearsedFds);
        TcpConnCollector.begin();
        UnixSocketCollector.acrossTree(rehearsedFds);
        ImageSink images = sink != null ? sink : ImageWriter.create(options.imagesDir());
        List<Member> members = new ArrayList<>();
        try {
            // Before the freeze: room for the pages, so the frozen processes' writes do not wait for allocation.
            Map<Integer, PageSink> pagesFiles = new HashMap<>();
            java.util.Set<Long> shmemEstimated = new java.util.HashSet<>();
            for (int pid : tree) {
                PageSink pages = images.openPages(pid);
                if (!(pages instanceof PagesWriter file)) {
                    pagesFiles.put(pid, pages);
                    continue;                           // nothing to preallocate: pages leave as they are read
                }
                long estimate = estimatePrivateBytes(pid, shmemEstimated);
                // on top of a pre-dump only the pages written since are copied (shared memory is not tracked: it may
                // then outgrow this room, which only costs first-touch speed)
                if (parent != null && parent.set.pids().contains(pid)) estimate = Math.min(estimate, expectedChanges(pid));
                long t0 = System.nanoTime();
                boolean preallocated = file.preallocate(estimate);
                options.progress().accept(String.format("pages file of PID %d: %s %.1f MiB in %.1f ms (before the freeze)", pid,
                        preallocated ? "preallocated" : "could not preallocate", estimate / 1048576.0, (System.nanoTime() - t0) / 1e6));
                pagesFiles.put(pid, pages);
            }
            // Parents first: a frozen parent cannot fork, so the children we then find are all there will be.
            for (int pid : tree) {
                FrozenProcess frozen = Freezer.freeze(pid);
                members.add(new Member(pid, pagesFiles.get(pid), frozen));
                options.progress().accept("froze PID " + pid + " (" + frozen.threads().size() + " thread(s))");
            }
            List<Integer> again = ProcessTreeWalker.walk(procfs, root);
            List<Integer> walked = new ArrayList<>(tree);
            walked.addAll(zombies);
            if (!new java.util.HashSet<>(again).equals(new java.util.HashSet<>(walked))) {
                throw new DumpRefusedException("the process tree of PID " + root + " changed while it was being frozen ("
                        + tree + " became " + again + "); try again");
            }
            options.progress().accept(String.format("tree checked again, %.1f ms after the first freeze",
                    (System.nanoTime() - members.getFirst().frozen().frozenAtNanos()) / 1e6));
            Map<Integer, FdTable> fdTables = new LinkedHashMap<>();
            for (Member m : members) fdTables.put(m.pid(), FdCollector.collect(procfs, m.pid(), true, options.shellJob(), ourFds(m.pid())));
            fdTables = UnixSocketCollector.acrossTree(fdTables);
            fdTables = SharedFileCollector.link(fdTables);
            fdTables = FifoCollector.collect(fdTables);
            fdTables = SharedMemoryCollector.linkMemfds(fdTables);
            SharedMemoryCollector sharedMemory = new SharedMemoryCollector();
            Map<Integer, List<io.jmigrate.engine.image.proto.PipeContents>> pipes = PipeCollector.collect(fdTables);
            ProcessTree.Builder pstree = ProcessTree.newBuilder();
            DumpStats.Builder stats = DumpStats.newBuilder();
            for (Member m : members) {
                FdTable fds = fdTables.get(m.pid()).toBuilder().addAllPipes(pipes.getOrDefault(m.pid(), List.of())).build();
                Dumped d = dumpProcess(options, images, m.pages(), m.frozen(), fds, sharedMemory);
                pstree.addProcesses(d.entry());
                stats.setPagesScanned(stats.getPagesScanned() + d.memory().pagesScanned)
                        .setPagesWritten(stats.getPagesWritten() + d.memory().pagesWritten)
                        .setZeroPagesSkipped(stats.getZeroPagesSkipped() + d.memory().zeroPagesSkipped)
                        .setBytesWritten(stats.getBytesWritten() + d.memory().pagesWritten * 4096)
                        .setPagesInParent(stats.getPagesInParent() + d.memory().pagesInParent)
                        .setDirtyPages(stats.getDirtyPages() + d.dirtyPages())
                        .setMemoryNanos(stats.getMemoryNanos() + d.memNanos());
            }
            for (int zombie : zombies) {
                ProcStat z = procfs.stat(zombie);
                pstree.addProcesses(ProcessEntry.newBuilder().setPid(zombie).setPpid(z.ppid()).setPgid(z.pgrp())
                        .setSid(z.session()).setZombie(true).setExitStatus(z.exitCode()));
            }
            stats.setBytesWritten(stats.getBytesWritten() + sharedMemory.bytesWritten);   // shared memory contents too
            images.writeMessage(ImageKind.PSTREE, root, pstree.build());
            // The inventory is written last: until it exists the directory is not a complete image set.
            // The processes are still frozen, so a failure here resumes them untouched.
            Inventory.Builder inventory = Inventory.newBuilder().setToolVersion(Version.VERSION).setRootPid(root)
                    .setKernelRelease(Version.kernelRelease()).setHostname(Version.hostname())
                    .setCreatedUnixMs(System.currentTimeMillis());
            if (parent != null) {
                inventory.setParentDir(parent.dir.toString()).setParentInventoryCrc32C(parent.inventoryCrc)
                        .setDirtyTracking(parent.tracking.label());
            }
            long endFrozen = System.nanoTime();
            stats.setFrozenNanos(endFrozen - members.getFirst().frozen().frozenAtNanos()).setTotalNanos(endFrozen - startedAt);
            images.commit(inventory.setStats(stats));

            // Parents first here too: their children re-parent to the subreaper (us, when we are one), which then
            // reaps them as they die instead of leaving zombies that hold their PIDs.
            List<RuntimeException> unrepaired = new ArrayList<>();
            if (options.leaveRunning()) TcpConnCollector.release(true, unrepaired);   // connections carry on
            else lockConnections(options, root, fdTables);
            for (Member m : members) {
                if (options.leaveRunning()) m.frozen().resume();
                else m.frozen().kill();
            }
            // killed: the connections in repair mode vanish without FIN or RST once our copies are closed too
            if (!options.leaveRunning()) TcpConnCollector.release(false, unrepaired);
            for (RuntimeException e : unrepaired) options.progress().accept("TCP repair off failed: " + e.getMessage());
            if (!options.leaveRunning()) {
                // their parents are gone: re-parented to us (the subreaper), they are reaped here and free their PIDs
                for (int zombie : zombies) Reaper.awaitGone(zombie, java.time.Duration.ofSeconds(5));
            }
            options.progress().accept(options.leaveRunning() ? "resumed " + tree : "killed " + tree + " (images are complete)");
            return new DumpResult(root, images instanceof ImageWriter w ? w.directory() : java.nio.file.Path.of(images.destination()), stats.build());
        } catch (RuntimeException e) {
            images.abort();                      // discards the pages files too
            List<RuntimeException> unrepaired = new ArrayList<>();
            TcpConnCollector.release(true, unrepaired);   // connections in repair mode carry on as they were
            unrepaired.forEach(e::addSuppressed);
            for (Member m : members.reversed()) {
                try {
                    m.frozen().resume();
                } catch (RuntimeException resumeFailure) {
                    e.addSuppressed(resumeFailure);
                }
            }
            throw e;
        }
    }

    private Dumped dumpProcess(DumpOptions options, ImageSink images, PageSink pages, FrozenProcess frozen,
                               FdTable fds, SharedMemoryCollector sharedMemory) {
        int pid = frozen.pid();
        Preflight.checkFrozen(procfs, pid);      // again, now that nothing can change: threads may have appeared

        StoppedThread leader = frozen.leader();
        RemoteSyscalls inLeader = RemoteSyscalls.in(leader, pid);
        long smapsStart = System.nanoTime();
        List<io.jmigrate.engine.proc.SmapsEntry> smaps = frozenSmaps(pid);
        boolean smapsReused = smaps == preFreezeSmaps.get(pid);
        options.progress().accept(String.format("PID %d: %s in %.1f ms", pid, smapsReused
                ? "VMA list unchanged since the smaps read before the freeze (maps only)"
                : "VMA list changed since before the freeze: smaps read again", (System.nanoTime() - smapsStart) / 1e6));
        List<Vma> vmas = VmaCollector.collect(pid, smaps, ownUffd(pid));
        // Pre-copy: what was written since the last pre-dump (the same smaps: each read walks every page table)
        io.jmigrate.engine.precopy.PageRanges dirty = null, parentPresent = null;
        io.jmigrate.engine.precopy.DirtyTracker tracker = parent == null ? null : parent.continueTracking(pid, options.progress());
        if (tracker != null) {
            long t0 = System.nanoTime();
            try {
                // peek, not harvest: if this dump fails, the tracking is intact for another attempt
                dirty = tracker.peek(pid, ParentImages.trackedVmas(pid, smaps));
            } finally {
                // A process that is killed takes the userfaultfd with it; closing it here would cost the frozen
                // process the kernel's walk that un-protects every page (tens of ms per GiB).
                if (options.leaveRunning()) ParentImages.closeInProcess(tracker, inLeader);
                else tracker.close();
            }
            parentPresent = parent.present(pid);
            options.progress().accept(String.format("PID %d: %d pages written since the pre-dump (%s, %.1f ms)", pid,
                    dirty.pages(), tracker.kind(), (System.nanoTime() - t0) / 1e6));
        }
        java.util.Set<Long> emptyVmas = new java.util.HashSet<>();
        // Rss/Swap from before the freeze may be stale (pages written since): no shortcut then, the pagemap decides
        if (!smapsReused) for (var e : smaps) if (e.rssKb() == 0 && e.swapKb() == 0) emptyVmas.add(e.mapping().start());
        ProcStat stat = procfs.stat(pid);
        ProcStatus status = procfs.status(pid);

        long scratch = RemoteSyscalls.mmapAnon(inLeader, 0, SCRATCH_SIZE, 0);
        ProcessCore.Builder core = ProcessCore.newBuilder();
        MemoryDumper memory = new MemoryDumper(pid, ZeroPage.pfn());
        if (dirty != null && parentPresent != null) memory.againstParent(parentPresent, dirty);
        long dirtyPages = dirty == null ? 0 : dirty.pages();
        PageIndex pageIndex;
        List<io.jmigrate.engine.image.proto.ShmemObject> shmemObjects;
        io.jmigrate.engine.image.ShmemSink shmemContents;
        long brk;
        long memNanos;
        try {
            core.addAllSigactions(SigactionCollector.collect(pid, status, inLeader, scratch));
            brk = inLeader.call("brk(0)", SyscallNumbers.BRK, 0);
            for (int which = 0; which < 3; which++) {          // ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF
                inLeader.call("getitimer(" + which + ")", SyscallNumbers.GETITIMER, which, scratch);
                long[] t = ThreadCollector.readLongs(pid, scratch, 4);     // {interval sec, usec}, {value sec, usec}
                if (t[2] != 0 || t[3] != 0) {
                    core.addItimers(io.jmigrate.engine.image.proto.IntervalTimer.newBuilder().setWhich(which)
                            .setIntervalUsec(t[0] * 1_000_000 + t[1]).setValueUsec(t[2] * 1_000_000 + t[3]));
                }
            }
            core.addAllPosixTimers(PosixTimerCollector.collect(procfs, pid, inLeader, scratch));
            for (StoppedThread t : frozen.threads()) {
                RemoteSyscalls inThread = t == leader ? inLeader
                        : new RemoteSyscalls(t.tid(), inLeader.site(), t.savedRegs(), t);
                io.jmigrate.engine.proc.ProcStat ts = procfs.taskStat(pid, t.tid());
                ThreadCore.Builder thread = ThreadCollector.collect(t, procfs.comm(t.tid()), inThread, scratch).toBuilder()
                        .setNice(Integer.parseInt(ts.field(19))).setSchedPolicy(Integer.parseInt(ts.field(41)))
                        .setRtPriority(Integer.parseInt(ts.field(40)));
                SeccompCollector.collect(pid, t.tid(), procfs.taskStatus(pid, t.tid()).seccomp(), thread);
                core.addThreads(thread.build());
            }

            long memStart = System.nanoTime();
            // the process writing its own pages is for the local file only
            int pagesFd = pages instanceof PagesWriter file
                    ? openInProcess(inLeader, scratch, file.temporaryPath().toAbsolutePath().toString()) : -1;
            if (pagesFd >= 0) memory.writeThroughProcess(new MemoryDumper.SelfWriter(inLeader, pagesFd, scratch + 4096));
            pageIndex = memory.dump(vmas, emptyVmas, pages, io.jmigrate.engine.image.ImageFormat.PAGES_DATA_OFFSET);
            long walked = System.nanoTime();
            if (pagesFd >= 0) inLeader.call("close pages file", SyscallNumbers.CLOSE, pagesFd);
            long shmemBytes = sharedMemory.bytesWritten;
            shmemContents = pages.shmem();
            shmemObjects = sharedMemory.dumpOwned(pid, vmas, fds, shmemContents);      // objects this process is the first to use
            if (!shmemObjects.isEmpty()) {
                options.progress().accept(String.format("PID %d: %d shared memory object(s), %.1f MiB of contents",
                        pid, shmemObjects.size(), (sharedMemory.bytesWritten - shmemBytes) / 1048576.0));
            }
            pages.close();
            options.progress().accept(String.format("PID %d: page walk and copy %.1f ms, pages file completed in %.1f ms",
                    pid, (walked - memStart) / 1e6, (System.nanoTime() - walked) / 1e6));
            memNanos = System.nanoTime() - memStart;
        } finally {
            // On failure the process is resumed as it was; the scratch mapping and an fd left open are the only
            // trace, and only if the process can still run system calls for us at all.
            try {
                inLeader.call("munmap scratch", SyscallNumbers.MUNMAP, scratch, SCRATCH_SIZE);
            } catch (RuntimeException cleanupFailure) {
                options.progress().accept("cleanup in PID " + pid + " failed: " + cleanupFailure.getMessage());
            }
        }
        options.progress().accept(String.format("PID %d: memory done %.1f ms after the freeze", pid,
                (System.nanoTime() - frozen.frozenAtNanos()) / 1e6));
        options.progress().accept(String.format("PID %d: copied %d pages (%.1f MiB) in %.1f ms (pagemap %.1f, copy %.1f, checksum/write %.1f)%s",
                pid, memory.pagesWritten, memory.pagesWritten * 4096 / 1048576.0, memNanos / 1e6,
                memory.scanNanos / 1e6, memory.readNanos / 1e6, memory.writeNanos / 1e6,
                memory.selfWritten() ? ", written by the process itself" : ""));

        core.addAllCgroups(CgroupCollector.collect(procfs, pid));
        core.setCreds(CredentialsCollector.collect(procfs, pid, frozen.threads().stream().map(StoppedThread::tid).toList()));
        core.setPid(pid).setComm(stat.comm()).setExe(procfs.exe(pid)).setCwd(procfs.cwd(pid))
                .setRoot(procfs.root(pid)).setUmask(status.umask()).setPersonality(procfs.personality(pid))
                .setSessionLeader(stat.session() == pid);
        for (io.jmigrate.engine.proc.Limit l : procfs.limits(pid)) {
            core.addRlimits(Rlimit.newBuilder().setResource(l.resource()).setName(l.name()).setSoft(l.soft()).setHard(l.hard()));
        }
        for (byte[] info : io.jmigrate.engine.sys.Ptrace.peekSiginfo(pid, true)) {
            core.addSharedPendingSignals(com.google.protobuf.ByteString.copyFrom(info));
        }
        MmImage mm = MmImage.newBuilder()
                .setStartCode(stat.startCode()).setEndCode(stat.endCode())
                .setStartData(stat.startData()).setEndData(stat.endData())
                .setStartBrk(stat.startBrk()).setBrk(brk).setStartStack(stat.startStack())
                .setArgStart(stat.argStart()).setArgEnd(stat.argEnd())
                .setEnvStart(stat.envStart()).setEnvEnd(stat.envEnd())
                .addAllAuxv(toList(procfs.auxv(pid))).setExe(procfs.exe(pid))
                .addAllVmas(vmas).addAllShmemObjects(shmemObjects)
                .setShmemFile(shmemContents.separateFile() && shmemObjects.stream().anyMatch(o -> o.getRunsCount() > 0)).build();

        images.writeMessage(ImageKind.CORE, pid, core.build());
        images.writeMessage(ImageKind.MM, pid, mm);
        images.writeMessage(ImageKind.PAGEMAP, pid, pageIndex);
        images.writeMessage(ImageKind.FDS, pid, fds);
        ProcessEntry entry = ProcessEntry.newBuilder().setPid(pid).setPpid(stat.ppid()).setPgid(stat.pgrp())
                .setSid(stat.session()).addAllThreads(frozen.threads().stream().map(StoppedThread::tid).toList()).build();
        return new Dumped(entry, memory, memNanos, dirtyPages);
    }

    /**
     * The collection steps that need no freeze, run once while the process still runs: what they would refuse is
     * refused now, before the process is touched, and the JVM has loaded and linked everything the frozen window
     * needs (a cold start otherwise costs the process hundreds of milliseconds of pause).
     */
    private void rehearse(int pid) {
        List<io.jmigrate.engine.proc.SmapsEntry> smaps = procfs.smaps(pid);
        preFreezeSmaps.put(pid, smaps);
        VmaCollector.collect(pid, smaps, ownUffd(pid));
        procfs.stat(pid);
        procfs.limits(pid);
        procfs.auxv(pid);
        ZeroPage.pfn();
        io.jmigrate.engine.compel.SyscallSite.find(pid);
        io.jmigrate.engine.image.proto.Images.getDescriptor();
        ProcessCore.newBuilder().addThreads(io.jmigrate.engine.image.proto.ThreadCore.newBuilder()
                .setRegs(RegsProto.toProto(new io.jmigrate.engine.sys.UserRegs(new long[io.jmigrate.engine.sys.UserRegs.WORDS])))).build();
        MmImage.newBuilder().addVmas(Vma.newBuilder()).build();
    }

    /** smaps of each process, read last before the freeze (reading it walks every page table: slow). */
    private final Map<Integer, List<io.jmigrate.engine.proc.SmapsEntry>> preFreezeSmaps = new HashMap<>();

    /**
     * The smaps of a frozen process without walking its page tables when possible: if /proc/PID/maps (no page
     * walk) shows exactly the areas smaps showed before the freeze (addresses, permissions, offset, device, inode,
     * name), that earlier read is returned, and only its VmFlags and counters are used. VmFlags that can change
     * without changing the maps line are safe to take from before the freeze: VM_SOFTDIRTY also shows in every
     * pagemap word the soft-dirty peek reads, a VMA that lost its uffd-wp registration fails the tracker's
     * PAGEMAP_SCAN (EPERM: copied whole), and a userfaultfd of the process's own is refused among its fds.
     * Rss/Swap are stale: the caller must not use them. Otherwise smaps is read again, now.
     */
    private List<io.jmigrate.engine.proc.SmapsEntry> frozenSmaps(int pid) {
        List<io.jmigrate.engine.proc.SmapsEntry> before = preFreezeSmaps.get(pid);
        if (before != null) {
            List<io.jmigrate.engine.proc.MapsEntry> now = procfs.maps(pid);
            boolean same = now.size() == before.size();
            for (int i = 0; same && i < now.size(); i++) same = now.get(i).equals(before.get(i).mapping());
            if (same) return before;
        }
        List<io.jmigrate.engine.proc.SmapsEntry> now = procfs.smaps(pid);
        preFreezeSmaps.remove(pid);
        return now;
    }

    /** Opens {@code path} for writing inside the process; -1 if it cannot (fd limit, seccomp...): we copy instead. */
    private static int openInProcess(RemoteSyscalls syscalls, long scratch, String path) {
        byte[] bytes = (path + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (bytes.length > 4096) return -1;
        io.jmigrate.engine.sys.ProcessVm.writeBytes(syscalls.tid(), scratch, bytes);
        long fd = syscalls.callRaw(SyscallNumbers.OPENAT, -100, scratch, 01 | 02000000, 0);
        return fd < 0 ? -1 : (int) fd;
    }

    /**
     * On top of a pre-dump, about what the frozen dump will copy: the pages written so far, from a peek at the
     * tracker (it changes nothing), with room for what is written until the freeze. Unused room costs a truncate
     * while frozen, so the estimate stays tight.
     */
    private long expectedChanges(int pid) {
        io.jmigrate.engine.precopy.DirtyTracker t = parent.continueTracking(pid, m -> { });
        if (t == null) return Long.MAX_VALUE;
        try {
            long pages = t.peek(pid, ParentImages.trackedVmas(pid, procfs.smaps(pid))).pages();
            return pages * 4096 * 5 / 4 + (4L << 20);
        } catch (RuntimeException e) {
            return Long.MAX_VALUE;       // only an estimate
        } finally {
            t.close();
        }
    }

    /**
     * Private memory the process holds now, from smaps, and the shared memory objects it is the first of the tree
     * to map (their contents go into its pages file too): what the pages file will roughly need.
     */
    private long estimatePrivateBytes(int pid, java.util.Set<Long> shmemSeen) {
        try {
            long kb = 0;
            List<io.jmigrate.engine.proc.SmapsEntry> smaps = procfs.smaps(pid);
            preFreezeSmaps.put(pid, smaps);        // the latest read before the freeze
            for (var s : smaps) {
                if (!s.mapping().shared()) kb += s.anonymousKb() + s.swapKb();
                else if (SharedMemoryCollector.isShmem(s.mapping()) && shmemSeen.add(s.mapping().inode())) kb += s.rssKb() + s.swapKb();
            }
            return kb * 1024;
        } catch (RuntimeException e) {
            return 0;      // only an optimisation; the preflight already vouched for the process
        }
    }

    /** Before the kill: the peers' packets must find neither socket nor reset until the restore (NetworkLock). */
    private static void lockConnections(DumpOptions options, int root, Map<Integer, FdTable> fdTables) {
        List<io.jmigrate.engine.image.proto.TcpConnState> conns = fdTables.values().stream()
                .flatMap(t -> t.getFdsList().stream()).filter(f -> f.hasTcpConn()).map(f -> f.getTcpConn()).toList();
        if (conns.isEmpty()) return;
        if (io.jmigrate.engine.net.NetworkLock.lock(root, conns)) {
            options.progress().accept("network lock: " + conns.size() + " TCP connection(s) held until the restore");
        } else {
            options.progress().accept("warning: nft not found: no network lock; a peer sending before the restore gets a reset");
        }
    }

    private boolean isZombie(int pid) {
        try {
            return procfs.stat(pid).state() == 'Z';
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static List<Long> toList(long[] values) {
        return java.util.Arrays.stream(values).boxed().toList();
    }
}
