package io.jmigrate.engine.precopy;

import io.jmigrate.engine.check.DirtyTracking;
import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.image.proto.DirtyTrackerState;
import io.jmigrate.engine.proc.SmapsEntry;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.PagemapScan;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.SyscallNumbers;
import io.jmigrate.engine.sys.Uffd;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Dirty tracking with a userfaultfd in write-protect async mode, harvested with PAGEMAP_SCAN.
 *
 * <p>The userfaultfd belongs to the tracked process: it is created there by an injected userfaultfd(2) (a
 * userfaultfd always serves the mm of its creator) and moved to a high fd number, where it outlives the pre-dump
 * that made it; each round takes it again with pidfd_getfd and checks its inode. Every private VMA is registered
 * in WP mode with UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED: a write to a protected page is resolved by
 * the kernel, which only clears the page's uffd-wp bit, so nothing ever reads this userfaultfd and the process is
 * never blocked. No non-cooperative event (fork, remap, remove, unmap) is requested: those would make the process
 * wait for a reader. A harvest is one PAGEMAP_SCAN per VMA with PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC: the
 * written pages, re-protected in the same walk, so a write racing the scan is either reported now or next time.
 *
 * <p>A VMA without the "uw" VmFlag is one we never registered (new, moved by mremap, or mapped over): it is
 * registered, protected and reported dirty as a whole.
 */
public final class UffdWpTracker implements DirtyTracker {
    public static final long FEATURES = Uffd.UFFD_FEATURE_WP_ASYNC | Uffd.UFFD_FEATURE_WP_UNPOPULATED;
    private static final int FCNTL = 72, F_DUPFD_CLOEXEC = 1030;
    private static final int SCAN_CAPACITY = 4096;

    private final int pid;
    private final int targetFd;
    private final long inode;
    private final int fd;            // our pidfd_getfd copy
    private final int pagemapFd;
    private final PagemapScan.Scanner scanner = new PagemapScan.Scanner(SCAN_CAPACITY);
    /** VMAs whose registration failed this round: reported dirty whole. */
    public int untrackedVmas;

    private UffdWpTracker(int pid, int targetFd, long inode, int fd) {
        this.pid = pid;
        this.targetFd = targetFd;
        this.inode = inode;
        this.fd = fd;
        try {
            this.pagemapFd = Files.open("/proc/" + pid + "/pagemap", Files.O_RDONLY | Files.O_CLOEXEC);
        } catch (RuntimeException e) {
            scanner.close();
            Files.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * Creates the userfaultfd inside the frozen process (its leader is {@code inLeader}) at a free fd number from
     * {@code lowestFd} up, and enables WP_ASYNC|WP_UNPOPULATED. Nothing is registered yet: the first harvest does
     * that, and reports everything. If this fails, nothing is left in the process.
     */
    public static UffdWpTracker arm(int pid, RemoteSyscalls inLeader, int lowestFd) {
        int created = (int) inLeader.call("userfaultfd in the process", SyscallNumbers.USERFAULTFD,
                Uffd.O_CLOEXEC | Uffd.O_NONBLOCK);
        int high;
        try {
            high = (int) inLeader.call("move the userfaultfd to a high fd", FCNTL, created, F_DUPFD_CLOEXEC, lowestFd);
        } finally {
            inLeader.call("close the first userfaultfd", SyscallNumbers.CLOSE, created);
        }
        UffdWpTracker t = null;
        try {
            t = take(pid, high, inodeOf(pid, high));
            Uffd.api(t.fd, FEATURES);
            return t;
        } catch (RuntimeException e) {
            if (t != null) t.close();
            inLeader.call("close the userfaultfd", SyscallNumbers.CLOSE, high);
            throw e;
        }
    }

    /** Takes over the tracker a previous round left in the process; throws if that fd is not it any more. */
    public static UffdWpTracker resume(int pid, DirtyTrackerState state) {
        long now;
        try {
            now = inodeOf(pid, state.getUffdFd());
        } catch (RuntimeException e) {
            throw new TrackerLostException("the userfaultfd the last round left at fd " + state.getUffdFd()
                    + " of PID " + pid + " is gone (" + e.getMessage() + ")");
        }
        if (now != state.getUffdInode()) {
            throw new TrackerLostException("fd " + state.getUffdFd() + " of PID " + pid + " is no longer the userfaultfd"
                    + " the last round left there (inode " + now + ", was " + state.getUffdInode() + ")");
        }
        return take(pid, state.getUffdFd(), now);
    }

    private static UffdWpTracker take(int pid, int targetFd, long inode) {
        int pidfd = PidFd.open(pid);
        try {
            return new UffdWpTracker(pid, targetFd, inode, PidFd.getFd(pidfd, targetFd));
        } finally {
            Files.closeQuietly(pidfd);
        }
    }

    /** The inode of fd {@code fd} of {@code pid}, which must be a userfaultfd. */
    static long inodeOf(int pid, int fd) {
        Path link = Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd));
        try {
            String target = java.nio.file.Files.readSymbolicLink(link).toString();
            if (!target.equals("anon_inode:[userfaultfd]")) throw new IllegalStateException(link + " is " + target);
            return ((Number) java.nio.file.Files.getAttribute(link, "unix:ino")).longValue();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + link + ": " + e.getMessage(), e);
        }
    }

    @Override public DirtyTracking kind() { return DirtyTracking.UFFD_WP_ASYNC; }

    public int targetFd() { return targetFd; }

    @Override
    public DirtyTrackerState state() {
        return DirtyTrackerState.newBuilder().setPid(pid).setUffdFd(targetFd).setUffdInode(inode).build();
    }

    @Override
    public PageRanges harvest(int pid, List<SmapsEntry> vmas) {
        return collect(pid, vmas, true);
    }

    /** Written pages without re-protecting them, and new VMAs left unregistered: the tracking stays as it was. */
    @Override
    public PageRanges peek(int pid, List<SmapsEntry> vmas) {
        return collect(pid, vmas, false);
    }

    private PageRanges collect(int pid, List<SmapsEntry> vmas, boolean rearm) {
        if (pid != this.pid) throw new IllegalArgumentException("tracker of PID " + this.pid + " asked about PID " + pid);
        PageRanges.Builder dirty = PageRanges.builder();
        untrackedVmas = 0;
        for (SmapsEntry v : vmas) {
            long start = v.mapping().start(), end = v.mapping().end();
            if (!v.uffdWp()) {
                if (!rearm) {
                    dirty.add(start, end);
                    continue;
                }
                try {
                    Uffd.register(fd, start, end - start, Uffd.UFFDIO_REGISTER_MODE_WP);
                    Uffd.writeProtect(fd, start, end - start, true);
                } catch (ErrnoException e) {
                    untrackedVmas++;          // gone meanwhile, or not registrable: copied whole every round
                }
                dirty.add(start, end);
                continue;
            }
            try {
                for (long at = start; at < end; ) {
                    long flags = PagemapScan.PM_SCAN_CHECK_WPASYNC | (rearm ? PagemapScan.PM_SCAN_WP_MATCHING : 0);
                    int n = scanner.scan(pagemapFd, at, end, flags,
                            PagemapScan.PAGE_IS_WRITTEN, 0, PagemapScan.PAGE_IS_WRITTEN);
                    for (int i = 0; i < n; i++) dirty.add(scanner.start(i), scanner.end(i));
                    long walkEnd = scanner.walkEnd();
                    if (walkEnd <= at) break;
                    at = walkEnd;
                }
            } catch (ErrnoException e) {
                dirty.add(start, end);        // replaced under us by memory we do not track: all of it
            }
        }
        return dirty.build();
    }

    /**
     * Final dump, process frozen: closes the userfaultfd inside the process. With our copy closed first, that is the
     * last reference, and its release drops every registration; the uffd-wp bits left on pages change nothing.
     */
    public void closeInProcess(RemoteSyscalls inLeader) {
        close();
        inLeader.call("close the dirty-tracking userfaultfd", SyscallNumbers.CLOSE, targetFd);
        // the release runs as task work on the way back to user space: one more round trip makes it happen now
        inLeader.call("getpid", SyscallNumbers.GETPID);
    }

    private boolean closed;

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        scanner.close();
        Files.closeQuietly(pagemapFd);
        Files.closeQuietly(fd);
    }

    /** The tracking of an earlier round cannot be taken over: everything must be copied again. */
    public static final class TrackerLostException extends RuntimeException {
        public TrackerLostException(String message) { super(message); }
    }
}
