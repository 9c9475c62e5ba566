package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.PageSource;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.image.proto.VmaKind;
import io.jmigrate.engine.proc.MapsEntry;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.sys.Mman;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds the dumped address space inside the puppet, in this order:
 * <ol>
 *   <li>unmap everything the seed left, except the scratch area and the vDSO/vvar;</li>
 *   <li>move the vDSO and vvar to where the dumped process had them (its code calls into them);</li>
 *   <li>set the mm fields and the exe link (PR_SET_MM_MAP) while the old exe is no longer mapped;</li>
 *   <li>map every VMA at its address, writable where its contents must still be filled in;</li>
 *   <li>fill the pages: the puppet reads them from the pages file itself with preadv, one call per 1024 runs;</li>
 *   <li>drop the temporary write permission.</li>
 * </ol>
 */
final class AddressSpaceRestorer {
    private static final int O_RDONLY = 0, O_RDWR = 2, O_CLOEXEC = 02000000, AT_FDCWD = -100;
    private static final int PR_SET_MM = 35, PR_SET_MM_MAP = 14, PRCTL_MM_MAP_SIZE = 104;
    private static final int IOV_PER_CALL = 1024;
    private static final List<String> SPECIAL = List.of("[vvar]", "[vvar_vclock]", "[vdso]");

    private final Puppet puppet;
    private final ProcFs procfs;
    private final SharedMemoryCarriers sharedMemory;
    long pagesRestored;
    long mapNanos, fillNanos;

    AddressSpaceRestorer(Puppet puppet, ProcFs procfs, SharedMemoryCarriers sharedMemory) {
        this.puppet = puppet;
        this.procfs = procfs;
        this.sharedMemory = sharedMemory;
    }

    void restore(MmImage mm, List<PageSource.LocatedRun> index) {
        unmapSeed();
        moveSpecialMappings(mm);
        setMmFields(mm);
        long t0 = System.nanoTime();
        List<Vma> widened = mapVmas(mm, index);
        long t1 = System.nanoTime();
        fillPages(index);
        long t2 = System.nanoTime();
        mapNanos = t1 - t0;
        fillNanos = t2 - t1;
        for (Vma vma : widened) {
            puppet.call("mprotect " + describe(vma), SyscallNumbers.MPROTECT, vma.getStart(),
                    vma.getEnd() - vma.getStart(), vma.getProt());
        }
    }

    private void unmapSeed() {
        for (MapsEntry m : procfs.maps(puppet.pid)) {
            if (m.start() == puppet.scratch || SPECIAL.contains(m.name()) || m.name().equals("[vsyscall]")) continue;
            puppet.call("munmap seed mapping " + m.name(), SyscallNumbers.MUNMAP, m.start(), m.end() - m.start());
        }
    }

    private void moveSpecialMappings(MmImage mm) {
        Map<String, long[]> now = new HashMap<>();
        for (MapsEntry m : procfs.maps(puppet.pid)) {
            if (SPECIAL.contains(m.name())) now.put(m.name(), new long[]{m.start(), m.end()});
        }
        Map<String, long[]> wanted = new HashMap<>();
        for (Vma v : mm.getVmasList()) {
            if (SPECIAL.contains(v.getName())) wanted.put(v.getName(), new long[]{v.getStart(), v.getEnd()});
        }
        if (!now.keySet().equals(wanted.keySet())) {
            throw new RestoreException("the vDSO layout differs from the dumped one (" + wanted.keySet() + " dumped, "
                    + now.keySet() + " here): images from another kernel?");
        }
        for (String name : wanted.keySet()) {
            if (now.get(name)[1] - now.get(name)[0] != wanted.get(name)[1] - wanted.get(name)[0]) {
                throw new RestoreException(name + " has another size than in the images: images from another kernel?");
            }
        }
        // Two moves each: first out of the way (old and new places may overlap), then into place.
        long parking = puppet.scratch + puppet.scratchSize + (1L << 30);
        Map<String, Long> parked = new HashMap<>();
        for (String name : wanted.keySet()) {
            long[] from = now.get(name);
            long len = from[1] - from[0];
            if (from[0] == wanted.get(name)[0]) continue;
            parked.put(name, mremap(from[0], len, parking, name));
            parking += len + Mman.PAGE_SIZE;
        }
        for (Map.Entry<String, Long> e : parked.entrySet()) {
            long[] to = wanted.get(e.getKey());
            mremap(e.getValue(), to[1] - to[0], to[0], e.getKey());
        }
    }

    private long mremap(long from, long len, long to, String name) {
        long moved = puppet.call("mremap " + name + " to 0x" + Long.toHexString(to), SyscallNumbers.MREMAP, from, len,
                len, Mman.MREMAP_MAYMOVE | Mman.MREMAP_FIXED, to);
        if (name.equals("[vdso]")) puppet.syscalls.moveSite(moved - from);   // our syscall instruction lives there
        return moved;
    }

    private void setMmFields(MmImage mm) {
        puppet.resetScratch();
        int exeFd = (int) puppet.call("open exe " + mm.getExe(), SyscallNumbers.OPENAT, AT_FDCWD,
                puppet.putString(mm.getExe()), O_RDONLY | O_CLOEXEC, 0);
        try {
            long[] auxv = mm.getAuxvList().stream().mapToLong(Long::longValue).toArray();
            long auxvAddr = puppet.putLongs(auxv);
            ByteBuffer map = ByteBuffer.allocate(PRCTL_MM_MAP_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            map.putLong(mm.getStartCode()).putLong(mm.getEndCode()).putLong(mm.getStartData()).putLong(mm.getEndData())
                    .putLong(mm.getStartBrk()).putLong(mm.getBrk()).putLong(mm.getStartStack())
                    .putLong(mm.getArgStart()).putLong(mm.getArgEnd()).putLong(mm.getEnvStart()).putLong(mm.getEnvEnd())
                    .putLong(auxvAddr).putInt(auxv.length * 8).putInt(exeFd);
            puppet.call("prctl(PR_SET_MM_MAP)", SyscallNumbers.PRCTL, PR_SET_MM, PR_SET_MM_MAP, puppet.put(map.array()),
                    PRCTL_MM_MAP_SIZE, 0);
        } finally {
            puppet.call("close exe fd", SyscallNumbers.CLOSE, exeFd);
        }
    }

    /** Maps every VMA; returns those mapped writable only so their contents can be filled in. */
    private List<Vma> mapVmas(MmImage mm, List<PageSource.LocatedRun> index) {
        List<Vma> widened = new ArrayList<>();
        Map<String, Integer> openFiles = new HashMap<>();
        try {
            for (Vma vma : mm.getVmasList()) {
                VmaKind kind = vma.getKind();
                if (kind == VmaKind.VMA_VDSO || kind == VmaKind.VMA_VVAR || kind == VmaKind.VMA_VVAR_VCLOCK
                        || kind == VmaKind.VMA_VSYSCALL) {
                    continue;
                }
                boolean needsFill = hasPages(index, vma);
                int prot = vma.getProt();
                if (needsFill && (prot & Mman.PROT_WRITE) == 0) {
                    prot |= Mman.PROT_WRITE;
                    widened.add(vma);
                }
                int flags = (vma.getFlags() & ~Mman.MAP_GROWSDOWN) | Mman.MAP_FIXED
                        | (vma.getFlags() & Mman.MAP_GROWSDOWN);
                int fd = -1;
                if (vma.getShmemInode() != 0) {
                    fd = sharedMemory.object(vma.getShmemInode());       // the object made once for the tree
                } else if (kind == VmaKind.VMA_FILE) {
                    boolean sharedWritable = (vma.getFlags() & Mman.MAP_SHARED) != 0
                            && ((vma.getProt() & Mman.PROT_WRITE) != 0 || vma.getMayWrite());
                    String key = (sharedWritable ? "rw:" : "r:") + vma.getPath();
                    Integer open = openFiles.get(key);
                    if (open == null) {
                        puppet.resetScratch();
                        open = (int) puppet.call("open " + vma.getPath(), SyscallNumbers.OPENAT, AT_FDCWD,
                                puppet.putString(vma.getPath()), (sharedWritable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
                        openFiles.put(key, open);
                    }
                    fd = open;
                }
                long got = puppet.call("mmap " + describe(vma), SyscallNumbers.MMAP, vma.getStart(),
                        vma.getEnd() - vma.getStart(), prot, flags, fd, kind == VmaKind.VMA_FILE ? vma.getPgoff() : 0);
                if (got != vma.getStart()) throw new RestoreException("mmap placed " + describe(vma) + " at 0x" + Long.toHexString(got));
            }
        } finally {
            for (int fd : openFiles.values()) puppet.call("close", SyscallNumbers.CLOSE, fd);
        }
        return widened;
    }

    /** The puppet reads its pages itself with preadv, one call per group of runs back to back in one file. */
    private void fillPages(List<PageSource.LocatedRun> runs) {
        if (runs.isEmpty()) return;
        Map<Path, Integer> files = new HashMap<>();
        try {
            int i = 0;
            while (i < runs.size()) {
                Path pagesFile = runs.get(i).file();
                Integer fd = files.get(pagesFile);
                if (fd == null) {
                    puppet.resetScratch();
                    fd = (int) puppet.call("open " + pagesFile, SyscallNumbers.OPENAT, AT_FDCWD,
                            puppet.putString(pagesFile.toAbsolutePath().toString()), O_RDONLY | O_CLOEXEC, 0);
                    files.put(pagesFile, fd);
                }
                long fileOffset = runs.get(i).fileOffset();
                long expected = fileOffset;
                int n = 0;
                ByteBuffer iov = ByteBuffer.allocate(IOV_PER_CALL * 16).order(ByteOrder.LITTLE_ENDIAN);
                long total = 0;
                while (i + n < runs.size() && n < IOV_PER_CALL && runs.get(i + n).fileOffset() == expected
                        && runs.get(i + n).file().equals(pagesFile)) {
                    PageSource.LocatedRun r = runs.get(i + n);
                    long len = r.nrPages() * Mman.PAGE_SIZE;
                    iov.putLong(r.vaddr()).putLong(len);
                    expected += len;
                    total += len;
                    n++;
                }
                puppet.resetScratch();
                byte[] iovBytes = new byte[n * 16];
                iov.flip().get(iovBytes);
                long iovAddr = puppet.put(iovBytes);
                long got = puppet.call("preadv pages", SyscallNumbers.PREADV, fd, iovAddr, n, fileOffset, 0);
                if (got != total) {
                    throw new RestoreException("short read of " + pagesFile + " at offset " + fileOffset + ": " + got
                            + " of " + total + " bytes (truncated image?)");
                }
                pagesRestored += total / Mman.PAGE_SIZE;
                i += n;
            }
        } finally {
            for (int fd : files.values()) puppet.call("close pages", SyscallNumbers.CLOSE, fd);
        }
    }

    private static boolean hasPages(List<PageSource.LocatedRun> index, Vma vma) {
        for (PageSource.LocatedRun r : index) {
            if (r.vaddr() < vma.getEnd() && r.end() > vma.getStart()) return true;
        }
        return false;
    }

    static String describe(Vma vma) {
        return "0x" + Long.toHexString(vma.getStart()) + "-0x" + Long.toHexString(vma.getEnd())
                + (vma.getName().isEmpty() ? "" : " " + vma.getName());
    }
}
