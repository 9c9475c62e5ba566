package io.jmigrate.engine.proc;

import java.util.Map;
import java.util.Set;

/**
 * One area of /proc/PID/smaps: its maps line, its size counters and its VmFlags.
 *
 * @param mapping     the header line, same as the /proc/PID/maps line
 * @param kb          every {@code Key: N kB} line, in kB (Size, Rss, Pss, Anonymous, Swap, AnonHugePages, Locked, ...)
 * @param vmFlags     the two-letter VmFlags codes (rd wr ex sh mr mw me ms gd pf lo io sr rr dc de ac nr ht sf nl ar
 *                    wf dd sd mm hg nh mg um uw ss ...); unknown codes are kept as printed
 * @param otherFields the remaining lines with their raw values, e.g. {@code THPeligible} and {@code ProtectionKey},
 *                    which carry no unit
 */
public record SmapsEntry(MapsEntry mapping, Map<String, Long> kb, Set<String> vmFlags, Map<String, String> otherFields) {
    public SmapsEntry {
        kb = Map.copyOf(kb);
        vmFlags = Set.copyOf(vmFlags);
        otherFields = Map.copyOf(otherFields);
    }

    /** The counter in kB, or 0 when this kernel does not print it. */
    public long kb(String field) { return kb.getOrDefault(field, 0L); }

    public long sizeKb() { return kb("Size"); }

    public long rssKb() { return kb("Rss"); }

    public long pssKb() { return kb("Pss"); }

    public long anonymousKb() { return kb("Anonymous"); }

    public long swapKb() { return kb("Swap"); }

    public long anonHugePagesKb() { return kb("AnonHugePages"); }

    public boolean hasFlag(String code) { return vmFlags.contains(code); }

    /** VM_GROWSDOWN: a stack that the kernel extends downwards on faults below it. */
    public boolean growsDown() { return hasFlag("gd"); }

    /** Registered with userfaultfd for missing-page faults. */
    public boolean uffdMissing() { return hasFlag("um"); }

    /** Registered with userfaultfd for write-protect faults. */
    public boolean uffdWp() { return hasFlag("uw"); }

    /** VM_SHARED, as opposed to the maps 's' flag which also shows for shared file mappings opened read-only. */
    public boolean shared() { return hasFlag("sh"); }

    /** The VMA itself is soft-dirty (new since the last clear_refs); needs CONFIG_MEM_SOFT_DIRTY. */
    public boolean softDirty() { return hasFlag("sd"); }

    /** mlock()ed (VM_LOCKED). */
    public boolean locked() { return hasFlag("lo"); }

    /** VM_IO: device memory such as [vvar], which must not be read page by page. */
    public boolean ioMapped() { return hasFlag("io"); }

    /** madvise(MADV_DONTDUMP): excluded from core dumps, and from our images. */
    public boolean dontDump() { return hasFlag("dd"); }
}
