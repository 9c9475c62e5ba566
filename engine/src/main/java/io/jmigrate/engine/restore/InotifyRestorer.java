package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.InotifyState;
import io.jmigrate.engine.image.proto.InotifyWatch;
import io.jmigrate.engine.sys.FileHandles;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Pipes;

/**
 * The watches of an inotify instance, each with its old watch descriptor: the kernel hands out wds in a cycle
 * (idr_alloc_cyclic from 1), so a watch that comes back with a lower wd than it had is removed and added again
 * until the counter reaches its wd. A gap of many removed watches costs two injected calls per missing wd, and
 * the IN_IGNORED events those removals queue are read away again.
 */
final class InotifyRestorer {
    static final int INOTIFY_INIT1 = 294;
    private static final int INOTIFY_ADD_WATCH = 254, INOTIFY_RM_WATCH = 255, MAX_SKIPPED = 100_000;

    private InotifyRestorer() {}

    static void addWatches(Puppet puppet, int fd, InotifyState state, String what) {
        boolean removed = false;
        for (InotifyWatch w : state.getWatchesList()) {
            puppet.resetScratch();
            long path = puppet.putString(w.getPath());
            for (int tries = 0; ; tries++) {
                long wd = puppet.call("inotify_add_watch(" + w.getPath() + ") for " + what, INOTIFY_ADD_WATCH, fd, path,
                        Integer.toUnsignedLong(w.getMask()));
                if (wd == w.getWd()) break;
                if (wd > w.getWd() || tries > MAX_SKIPPED) {
                    throw new RestoreException(what + ": the watch of " + w.getPath() + " cannot get its watch descriptor "
                            + w.getWd() + " back (the kernel gave " + wd + ")");
                }
                puppet.call("inotify_rm_watch(" + wd + ") for " + what, INOTIFY_RM_WATCH, fd, wd);
                removed = true;
            }
        }
        if (removed) drain(puppet.pid, fd);
    }

    /** Each removed watch queued an IN_IGNORED event the program never caused; the queue was empty at dump. */
    private static void drain(int pid, int fd) {
        int pidfd = PidFd.open(pid);
        try {
            int ours = PidFd.getFd(pidfd, fd);
            try {
                int pending = FileHandles.pending(ours);
                if (pending > 0) Pipes.read(ours, pending);
            } finally {
                Files.closeQuietly(ours);
            }
        } finally {
            Files.closeQuietly(pidfd);
        }
    }
}
