package io.jmigrate.engine.sys;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The page frame number of the kernel's shared zero page. A page that reads as zeros because it maps that
 * frame holds no data worth copying; pagemap shows it as present, so we recognise it by its PFN.
 */
public final class ZeroPage {
    private static final long PFN_MASK = (1L << 55) - 1;
    private static volatile long pfn = -1;

    private ZeroPage() {}

    /** The zero page's PFN, or 0 if it cannot be learnt (PFNs hidden without CAP_SYS_ADMIN). */
    public static long pfn() {
        long known = pfn;
        if (known >= 0) return known;
        long addr = Mman.mmap(0, Mman.PAGE_SIZE, Mman.PROT_READ, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        try {
            byte touched = MemorySegment.ofAddress(addr).reinterpret(Mman.PAGE_SIZE).get(ValueLayout.JAVA_BYTE, 0);
            if (touched != 0) throw new IllegalStateException("fresh anonymous page is not zero");
            try (FileChannel pm = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
                ByteBuffer entry = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                pm.read(entry, (addr / Mman.PAGE_SIZE) * 8);
                long word = entry.getLong(0);
                known = (word < 0) ? (word & PFN_MASK) : 0;   // bit 63: present
            } catch (IOException e) {
                known = 0;
            }
        } finally {
            Mman.munmap(addr, Mman.PAGE_SIZE);
        }
        pfn = known;
        return known;
    }
}
