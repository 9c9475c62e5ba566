package io.jmigrate.engine.proc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Reads the /proc files of a process and hands them to the parsers of this package.
 *
 * <p>The root is configurable so tests can point it at a recorded directory laid out like /proc. A process that is
 * not there (never was, or exited and was reaped, even halfway through a read) surfaces as
 * {@link ProcessGoneException}; any other I/O failure as {@link UncheckedIOException}.
 *
 * <p>Text is decoded as UTF-8 with replacement: the files are ASCII apart from paths and comms, and a path that is
 * not valid UTF-8 cannot become a Java {@link Path} losslessly anyway.
 */
public final class ProcFs {
    private final Path root;

    public ProcFs() {
        this(Path.of("/proc"));
    }

    public ProcFs(Path root) {
        this.root = root;
    }

    /** The directory this reads from, /proc unless configured otherwise. */
    public Path procRoot() { return root; }

    public Path pidDir(int pid) { return root.resolve(Integer.toString(pid)); }

    /**
     * Whether /proc/PID exists. As in the kernel, a thread id that is not a thread group leader also "exists"
     * (its directory is hidden from listings but reachable).
     */
    public boolean exists(int pid) { return Files.isDirectory(pidDir(pid)); }

    public List<MapsEntry> maps(int pid) { return Maps.parse(readText(pid, "maps")); }

    public List<SmapsEntry> smaps(int pid) { return Smaps.parse(readText(pid, "smaps")); }

    public ProcStatus status(int pid) { return ProcStatus.parse(readText(pid, "status")); }

    public ProcStat stat(int pid) { return ProcStat.parse(readText(pid, "stat")); }

    /** /proc/PID/task/TID/status: per-thread state such as the blocked-signal mask. */
    public ProcStatus taskStatus(int pid, int tid) { return ProcStatus.parse(readTaskText(pid, tid, "status")); }

    public ProcStat taskStat(int pid, int tid) { return ProcStat.parse(readTaskText(pid, tid, "stat")); }

    /** A thread's own name, which may differ from the process's comm. */
    public String taskComm(int pid, int tid) { return stripNewline(readTaskText(pid, tid, "comm")); }

    public String comm(int pid) { return stripNewline(readText(pid, "comm")); }

    /** The arguments as exec received them (or as the process rewrote its argument area). */
    public List<String> cmdline(int pid) {
        String text = readText(pid, "cmdline");
        if (text.isEmpty()) return List.of();
        if (text.endsWith("\0")) text = text.substring(0, text.length() - 1);
        return List.of(text.split("\0", -1));
    }

    /** The open descriptor numbers, ascending. */
    public List<Integer> fdNumbers(int pid) { return numericEntries(pid, "fd"); }

    /** What descriptor {@code fd} refers to: a path (maybe ending in " (deleted)"), "pipe:[INO]", "anon_inode:[eventfd]", ... */
    public String fdTarget(int pid, int fd) { return readLink(pid, "fd/" + fd); }

    public FdInfo fdInfo(int pid, int fd) { return FdInfo.parse(readText(pid, "fdinfo/" + fd)); }

    /** The auxiliary vector, see {@link Auxv#parse}. */
    public long[] auxv(int pid) { return Auxv.parse(readBytes(pid, "auxv")); }

    public List<Limit> limits(int pid) { return Limits.parse(readText(pid, "limits")); }

    public String cwd(int pid) { return readLink(pid, "cwd"); }

    public String root(int pid) { return readLink(pid, "root"); }

    public String exe(int pid) { return readLink(pid, "exe"); }

    /** The thread ids, ascending, except that {@code pid} itself (the leader, when given a tgid) comes first. */
    public List<Integer> threads(int pid) {
        List<Integer> tids = new ArrayList<>(numericEntries(pid, "task"));
        if (tids.remove(Integer.valueOf(pid))) tids.addFirst(pid);
        return List.copyOf(tids);
    }

    /**
     * The children of every thread, ascending. The kernel lists a child under the thread that forked it, so reading
     * only task/PID/children would miss children of other threads. Threads that exit meanwhile are skipped.
     * Needs CONFIG_PROC_CHILDREN.
     */
    public List<Integer> children(int pid) {
        var children = new TreeSet<Integer>();
        for (int tid : threads(pid)) {
            String text;
            try {
                text = Files.readString(pidDir(pid).resolve("task/" + tid + "/children"), StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                if (!exists(pid)) throw new ProcessGoneException(pid, e);
                continue;
            } catch (IOException e) {
                throw failure(pid, "task/" + tid + "/children", e);
            }
            for (String child : text.strip().split("\\s+")) {
                if (child.isEmpty()) continue;
                try {
                    children.add(Integer.parseInt(child));
                } catch (NumberFormatException e) {
                    throw new ProcFormatException("children", "bad pid \"" + child + "\"", text.strip(), e);
                }
            }
        }
        return List.copyOf(children);
    }

    /** The execution domain and flags (ADDR_NO_RANDOMIZE 0x0040000, READ_IMPLIES_EXEC 0x0400000, ...). */
    public int personality(int pid) {
        String text = readText(pid, "personality").strip();
        try {
            return Integer.parseUnsignedInt(text, 16);
        } catch (NumberFormatException e) {
            throw new ProcFormatException("personality", "bad hex value", text, e);
        }
    }

    /**
     * Opens /proc/PID/pagemap; needs the right to ptrace-read the process. Reads after the process has exited fail
     * with {@link UncheckedIOException}.
     */
    public Pagemap pagemap(int pid) {
        try {
            return Pagemap.open(pidDir(pid).resolve("pagemap"));
        } catch (UncheckedIOException e) {
            if (!exists(pid)) throw new ProcessGoneException(pid, e.getCause());
            throw e;
        }
    }

    /** The bytes of /proc/PID/{@code name}, which may be a relative path such as "task/12/stat". */
    public byte[] readBytes(int pid, String name) {
        try {
            // readAllBytes copes with the size 0 that /proc reports: it reads until end of file.
            return Files.readAllBytes(pidDir(pid).resolve(name));
        } catch (IOException e) {
            throw failure(pid, name, e);
        }
    }

    public String readText(int pid, String name) {
        return new String(readBytes(pid, name), StandardCharsets.UTF_8);
    }

    private String readTaskText(int pid, int tid, String name) {
        try {
            return new String(Files.readAllBytes(pidDir(pid).resolve("task/" + tid + "/" + name)), StandardCharsets.UTF_8);
        } catch (IOException e) {
            if (!exists(pid)) throw new ProcessGoneException(pid, e);
            if (!Files.isDirectory(pidDir(pid).resolve("task/" + tid))) throw ProcessGoneException.thread(pid, tid, e);
            throw new UncheckedIOException("cannot read " + pidDir(pid).resolve("task/" + tid + "/" + name), e);
        }
    }

    private String readLink(int pid, String name) {
        try {
            return Files.readSymbolicLink(pidDir(pid).resolve(name)).toString();
        } catch (IOException e) {
            throw failure(pid, name, e);
        }
    }

    private List<Integer> numericEntries(int pid, String subdirectory) {
        List<Integer> numbers = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(pidDir(pid).resolve(subdirectory))) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                try {
                    numbers.add(Integer.parseInt(name));
                } catch (NumberFormatException ignored) {
                    // Not a descriptor or thread entry; a recorded tree may hold notes beside them.
                }
            }
        } catch (IOException e) {
            throw failure(pid, subdirectory, e);
        }
        numbers.sort(null);
        return List.copyOf(numbers);
    }

    /**
     * A process that exits while we read makes open() fail with ENOENT, or a read of an already open file fail with
     * ESRCH; both mean "gone" only if the directory is really missing now.
     */
    private RuntimeException failure(int pid, String name, IOException e) {
        if (!exists(pid)) return new ProcessGoneException(pid, e);
        return new UncheckedIOException("cannot read " + pidDir(pid).resolve(name), e);
    }

    private static String stripNewline(String text) {
        return text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    }
}
