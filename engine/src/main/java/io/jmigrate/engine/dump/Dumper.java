package io.jmigrate.engine.dump;

import io.jmigrate.engine.Version;
import io.jmigrate.engine.compel.Freezer;
import io.jmigrate.engine.compel.FrozenProcess;
import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.compel.StoppedThread;
import io.jmigrate.engine.compel.Tracer;
import io.jmigrate.engine.image.ImageKind;
import io.jmigrate.engine.image.ImageWriter;
import io.jmigrate.engine.image.PagesWriter;
import io.jmigrate.engine.image.proto.DumpStats;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.ProcessEntry;
import io.jmigrate.engine.image.proto.ProcessTree;
import io.jmigrate.engine.image.proto.Rlimit;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.proc.Limits;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.proc.ProcStat;
import io.jmigrate.engine.proc.ProcStatus;
import io.jmigrate.engine.sys.SyscallNumbers;
import io.jmigrate.engine.sys.ZeroPage;

import java.util.List;

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
    private static final long SCRATCH_SIZE = 64 * 1024;

    private final ProcFs procfs;

    public Dumper() {
        this(new ProcFs());
    }

    public Dumper(ProcFs procfs) {
        this.procfs = procfs;
    }

    public DumpResult dump(DumpOptions options) {
        Preflight.check(procfs, options.pid());
        try (Tracer tracer = new Tracer()) {
            return tracer.call(() -> dumpFrozen(options));
        }
    }

    private DumpResult dumpFrozen(DumpOptions options) {
        int pid = options.pid();
        long startedAt = System.nanoTime();
        ImageWriter images = ImageWriter.create(options.imagesDir());
        FrozenProcess frozen;
        try {
            frozen = Freezer.freeze(pid);
        } catch (RuntimeException e) {
            images.abort();
            throw e;
        }
        try {
            options.progress().accept("froze PID " + pid + " (" + frozen.threads().size() + " thread(s))");
            Preflight.check(procfs, pid, true);      // again, now that nothing can change: threads or children may have appeared

            List<Vma> vmas = VmaCollector.collect(pid, procfs.smaps(pid));
            FdTable fds = FdTable.newBuilder().addAllFds(FdCollector.collect(procfs, pid)).build();
            ProcStat stat = procfs.stat(pid);
            ProcStatus status = procfs.status(pid);

            StoppedThread leader = frozen.leader();
            RemoteSyscalls inLeader = RemoteSyscalls.in(leader, pid);
            long scratch = RemoteSyscalls.mmapAnon(inLeader, 0, SCRATCH_SIZE, 0);
            ProcessCore.Builder core = ProcessCore.newBuilder();
            long brk;
            try {
                core.addAllSigactions(SigactionCollector.collect(pid, status, inLeader, scratch));
                brk = inLeader.call("brk(0)", SyscallNumbers.BRK, 0);
                for (StoppedThread t : frozen.threads()) {
                    RemoteSyscalls inThread = t == leader ? inLeader
                            : new RemoteSyscalls(t.tid(), inLeader.site(), t.savedRegs(), t);
                    core.addThreads(ThreadCollector.collect(t, procfs.comm(t.tid()), inThread, scratch));
                }
            } finally {
                inLeader.call("munmap scratch", SyscallNumbers.MUNMAP, scratch, SCRATCH_SIZE);
            }
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
                    .addAllVmas(vmas).build();

            long memStart = System.nanoTime();
            MemoryDumper memory = new MemoryDumper(pid, ZeroPage.pfn());
            PageIndex pageIndex;
            try (PagesWriter pages = images.openPages(pid)) {
                pageIndex = memory.dump(vmas, pages, io.jmigrate.engine.image.ImageFormat.PAGES_DATA_OFFSET);
            }
            long memNanos = System.nanoTime() - memStart;
            options.progress().accept(String.format("copied %d pages (%.1f MiB) in %.1f ms (pagemap %.1f, read %.1f, write %.1f)",
                    memory.pagesWritten, memory.pagesWritten * 4096 / 1048576.0, memNanos / 1e6,
                    memory.scanNanos / 1e6, memory.readNanos / 1e6, memory.writeNanos / 1e6));

            images.writeMessage(ImageKind.CORE, pid, core.build());
            images.writeMessage(ImageKind.MM, pid, mm);
            images.writeMessage(ImageKind.PAGEMAP, pid, pageIndex);
            images.writeMessage(ImageKind.FDS, pid, fds);
            images.writeMessage(ImageKind.PSTREE, pid, ProcessTree.newBuilder().addProcesses(ProcessEntry.newBuilder()
                    .setPid(pid).setPpid(stat.ppid()).setPgid(stat.pgrp()).setSid(stat.session())
                    .addAllThreads(frozen.threads().stream().map(StoppedThread::tid).toList())).build());

            DumpStats.Builder stats = DumpStats.newBuilder()
                    .setPagesScanned(memory.pagesScanned).setPagesWritten(memory.pagesWritten)
                    .setZeroPagesSkipped(memory.zeroPagesSkipped).setBytesWritten(memory.pagesWritten * 4096)
                    .setMemoryNanos(memNanos);
            // The inventory is written last: until it exists the directory is not a complete image set.
            // The process is still frozen, so a failure here resumes it untouched.
            Inventory.Builder inventory = Inventory.newBuilder().setToolVersion(Version.VERSION).setRootPid(pid)
                    .setKernelRelease(Version.kernelRelease()).setHostname(Version.hostname())
                    .setCreatedUnixMs(System.currentTimeMillis());
            long endFrozen = System.nanoTime();
            stats.setFrozenNanos(endFrozen - frozen.frozenAtNanos()).setTotalNanos(endFrozen - startedAt);
            images.commit(inventory.setStats(stats));

            if (options.leaveRunning()) {
                frozen.resume();
                options.progress().accept("PID " + pid + " resumed");
            } else {
                frozen.kill();
                options.progress().accept("PID " + pid + " killed (images are complete)");
            }
            return new DumpResult(pid, options.imagesDir(), stats.build());
        } catch (RuntimeException e) {
            images.abort();
            frozen.resume();
            throw e;
        }
    }

    private static List<Long> toList(long[] values) {
        return java.util.Arrays.stream(values).boxed().toList();
    }
}
