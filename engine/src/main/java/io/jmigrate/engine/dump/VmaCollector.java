package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.proto.Vma;
import io.jmigrate.engine.image.proto.VmaKind;
import io.jmigrate.engine.proc.MapsEntry;
import io.jmigrate.engine.proc.SmapsEntry;
import io.jmigrate.engine.sys.Mman;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Turns /proc/PID/smaps into the VMA list of the image, refusing mappings we cannot recreate. */
final class VmaCollector {
    private VmaCollector() {}

    static List<Vma> collect(int pid, List<SmapsEntry> smaps) {
        return collect(pid, smaps, false);
    }

    /** @param ownUffdWp the WP registrations are our pre-copy dirty tracker's, not the process's: not refused */
    static List<Vma> collect(int pid, List<SmapsEntry> smaps, boolean ownUffdWp) {
        List<Vma> vmas = new ArrayList<>(smaps.size());
        for (SmapsEntry s : smaps) vmas.add(toVma(pid, s, ownUffdWp));
        return vmas;
    }

    /** True for VMAs whose page contents go into the images (the rest come back from files or the kernel). */
    static boolean holdsPrivateData(Vma vma) {
        return switch (vma.getKind()) {
            case VMA_ANON, VMA_HEAP, VMA_STACK -> true;
            case VMA_FILE -> (vma.getFlags() & Mman.MAP_SHARED) == 0;
            default -> false;
        };
    }

    private static Vma toVma(int pid, SmapsEntry s, boolean ownUffdWp) {
        MapsEntry m = s.mapping();
        String name = m.name();
        String where = "mapping " + hex(m.start()) + "-" + hex(m.end()) + (name.isEmpty() ? "" : " (" + name + ")")
                + " of PID " + pid;
        if (s.uffdMissing() || (s.uffdWp() && !ownUffdWp)) {
            throw new DumpRefusedException(where + " is registered with userfaultfd; processes using userfaultfd are not supported yet");
        }
        VmaKind kind = switch (name) {
            case "[vdso]" -> VmaKind.VMA_VDSO;
            case "[vvar]" -> VmaKind.VMA_VVAR;
            case "[vvar_vclock]" -> VmaKind.VMA_VVAR_VCLOCK;
            case "[vsyscall]" -> VmaKind.VMA_VSYSCALL;
            case "[heap]" -> VmaKind.VMA_HEAP;
            case "[stack]" -> VmaKind.VMA_STACK;
            default -> classifyOther(m, where);
        };
        boolean special = kind == VmaKind.VMA_VDSO || kind == VmaKind.VMA_VVAR || kind == VmaKind.VMA_VVAR_VCLOCK
                || kind == VmaKind.VMA_VSYSCALL;
        if (!special && (s.ioMapped() || s.vmFlags().contains("pf"))) {
            throw new DumpRefusedException(where + " maps device memory (VM_IO/VM_PFNMAP); device mappings cannot be checkpointed");
        }
        int flags = m.shared() ? Mman.MAP_SHARED : Mman.MAP_PRIVATE;
        if (kind != VmaKind.VMA_FILE) flags |= Mman.MAP_ANONYMOUS;
        if (s.growsDown()) flags |= Mman.MAP_GROWSDOWN;
        Vma.Builder b = Vma.newBuilder().setStart(m.start()).setEnd(m.end()).setPgoff(m.offset())
                .setProt(m.prot()).setFlags(flags).setKind(kind).setName(name)
                .setDev(((long) m.devMajor() << 20) | m.devMinor()).setInode(m.inode());
        if (m.shared() && s.vmFlags().contains("mw")) b.setMayWrite(true);
        if (SharedMemoryCollector.isShmem(m)) {
            SharedMemoryCollector.requireTmpfs(Path.of("/proc", Integer.toString(pid), "map_files", SharedMemoryCollector.mapFilesName(m)), where);
            b.setShmemInode(m.inode());         // its contents come from the object, dumped once for the tree
        } else if (kind == VmaKind.VMA_FILE) b.setPath(m.path());
        return b.build();
    }

    private static VmaKind classifyOther(MapsEntry m, String where) {
        String name = m.name();
        if (name.startsWith("/SYSV")) throw SharedMemoryCollector.refuseSysv(where, m);    // shmid 0 shows inode 0
        if (m.inode() == 0) {
            if (m.shared()) {
                throw new DumpRefusedException(where + " is shared memory without a shmem inode, which jmigrate does not know");
            }
            if (name.isEmpty() || name.startsWith("[anon:")) return VmaKind.VMA_ANON;
            throw new DumpRefusedException(where + " is a special kernel mapping jmigrate does not know");
        }
        if (SharedMemoryCollector.isShmem(m)) return VmaKind.VMA_FILE;     // a shmem file, mapped like one
        if (m.deleted()) {
            throw new DumpRefusedException(where + " maps a deleted file; mappings of deleted files are not supported yet");
        }
        Path path = Path.of(m.path());
        try {
            Object inode = Files.getAttribute(path, "unix:ino", LinkOption.NOFOLLOW_LINKS);
            if (((Number) inode).longValue() != m.inode()) {
                throw new DumpRefusedException(where + ": " + path + " has been replaced since it was mapped (inode "
                        + m.inode() + " is now " + inode + "); restart the program to pick up the new file");
            }
        } catch (IOException e) {
            throw new DumpRefusedException(where + ": cannot stat " + path + " (" + e.getMessage() + ")");
        }
        return VmaKind.VMA_FILE;
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
