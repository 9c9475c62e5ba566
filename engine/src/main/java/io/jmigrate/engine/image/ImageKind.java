package io.jmigrate.engine.image;

import com.google.protobuf.Message;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.Inventory;
import io.jmigrate.engine.image.proto.MmImage;
import io.jmigrate.engine.image.proto.PageIndex;
import io.jmigrate.engine.image.proto.ProcessCore;
import io.jmigrate.engine.image.proto.ProcessTree;

import java.util.List;

/**
 * The kinds of image file, with the code stored in each file's header and the file name.
 * Singleton kinds have one file per image set; the others have one per process ({@code core-42.img}).
 */
public enum ImageKind {
    INVENTORY(1, "inventory", false, Inventory.class),
    PSTREE(2, "pstree", false, ProcessTree.class),
    CORE(3, "core", true, ProcessCore.class),
    MM(4, "mm", true, MmImage.class),
    PAGEMAP(5, "pagemap", true, PageIndex.class),
    PAGES(6, "pages", true, null),
    FDS(7, "fds", true, FdTable.class),
    /**
     * The contents of the shmem objects a process owns, laid out as {@link #PAGES} (header page, then data), when
     * its {@code MmImage.shmem_file} says so: sets a page server received, whose pages files are rebuilt by address.
     * Optional: a local dump keeps them in pages-PID.img.
     */
    SHMEM(8, "shmem", true, null);

    /** The per-process files a complete image set holds for every process of pstree.img. */
    public static final List<ImageKind> PER_PROCESS = List.of(CORE, MM, PAGEMAP, PAGES, FDS);
    /** A pre-dump saves memory only: the process runs on, its other state is taken by the final dump. */
    public static final List<ImageKind> PER_PROCESS_PRE_DUMP = List.of(PAGEMAP, PAGES);

    private final int code;
    private final String stem;
    private final boolean perProcess;
    private final Class<? extends Message> messageType;

    ImageKind(int code, String stem, boolean perProcess, Class<? extends Message> messageType) {
        this.code = code;
        this.stem = stem;
        this.perProcess = perProcess;
        this.messageType = messageType;
    }

    /** The number stored in the header's kind field. */
    public int code() { return code; }

    /** True for kinds with one file per process. */
    public boolean perProcess() { return perProcess; }

    /** The protobuf message the file holds; null for {@link #PAGES} and {@link #SHMEM}, which hold raw data. */
    public Class<? extends Message> messageType() { return messageType; }

    /** True for the kinds that hold raw data after a header page ({@link #PAGES}, {@link #SHMEM}). */
    public boolean raw() { return messageType == null; }

    /** The file-name pattern, e.g. {@code core-PID.img}. */
    public String pattern() { return perProcess ? stem + "-PID.img" : stem + ".img"; }

    /** The file name; {@code pid} is ignored for singleton kinds. */
    public String fileName(int pid) {
        if (!perProcess) return stem + ".img";
        if (pid <= 0) throw new IllegalArgumentException(pattern() + ": bad pid " + pid);
        return stem + "-" + pid + ".img";
    }

    /** The kind with this header code, or null. */
    public static ImageKind ofCode(int code) {
        for (ImageKind k : values()) if (k.code == code) return k;
        return null;
    }

    /** The kind a file name denotes, or null if it is not an image file name. */
    public static ImageKind ofFileName(String name) {
        for (ImageKind k : values()) {
            if (!k.perProcess) {
                if (name.equals(k.stem + ".img")) return k;
            } else if (pidOf(name, k) > 0) {
                return k;
            }
        }
        return null;
    }

    /** The pid in a per-process file name ({@code core-42.img} gives 42), or 0 for a singleton or a foreign name. */
    public static int pidOf(String name) {
        ImageKind k = ofFileName(name);
        return k == null || !k.perProcess ? 0 : pidOf(name, k);
    }

    private static int pidOf(String name, ImageKind k) {
        String prefix = k.stem + "-";
        if (!name.startsWith(prefix) || !name.endsWith(".img")) return 0;
        String digits = name.substring(prefix.length(), name.length() - 4);
        if (digits.isEmpty() || digits.length() > 10 || digits.charAt(0) == '0') return 0;
        for (int i = 0; i < digits.length(); i++) if (digits.charAt(i) < '0' || digits.charAt(i) > '9') return 0;
        long pid = Long.parseLong(digits);
        return pid > Integer.MAX_VALUE ? 0 : (int) pid;
    }
}
