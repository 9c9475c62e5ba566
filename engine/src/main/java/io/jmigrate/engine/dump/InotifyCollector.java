package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.proto.InotifyState;
import io.jmigrate.engine.image.proto.InotifyWatch;
import io.jmigrate.engine.proc.FdInfo;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.FileHandles;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.PidFd;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An inotify instance: each watch of fdinfo ("inotify wd:W ino:I sdev:D mask:M ... fhandle-type:T f_handle:H", all
 * hex) is turned into a path while we can: the file handle is opened with open_by_handle_at on a mount of the same
 * filesystem (found in mountinfo by its device), and /proc/self/fd names it. Events already queued cannot be put
 * back, so an instance with unread events is refused, as is a watch whose file has no path any more.
 */
final class InotifyCollector {
    private static final Pattern WATCH = Pattern.compile("inotify wd:(\\p{XDigit}+) ino:(\\p{XDigit}+) sdev:(\\p{XDigit}+)"
            + " mask:(\\p{XDigit}+) ignored_mask:\\p{XDigit}+ fhandle-bytes:(\\p{XDigit}+) fhandle-type:(\\p{XDigit}+)"
            + " f_handle:(\\p{XDigit}*)");
    private static final Pattern MOUNT_DEV = Pattern.compile("^\\d+ \\d+ (\\d+):(\\d+) \\S+ (\\S+) ");

    private InotifyCollector() {}

    static InotifyState describe(int pid, int fd, FdInfo info, String which) {
        int pending = queued(pid, fd);
        if (pending > 0) {
            throw new DumpRefusedException(which + " is an inotify instance with " + pending + " bytes of events not read"
                    + " yet; queued inotify events cannot be restored");
        }
        List<InotifyWatch> watches = new ArrayList<>();
        for (String line : info.linesStartingWith("inotify wd:")) {
            Matcher m = WATCH.matcher(line);
            if (!m.find()) throw new DumpRefusedException(which + " is an inotify instance whose watch \"" + line + "\" cannot be read");
            long ino = Long.parseUnsignedLong(m.group(2), 16);
            long sdev = Long.parseLong(m.group(3), 16);
            String path = resolve(sdev, Integer.parseInt(m.group(6), 16), HexFormat.of().parseHex(m.group(7)), ino);
            if (path == null) {
                throw new DumpRefusedException(which + " is an inotify instance watching inode " + ino + " of device "
                        + (sdev >>> 20) + ":" + (sdev & 0xfffff) + ", which has no path any more (deleted, or on a "
                        + "filesystem not mounted here)");
            }
            watches.add(InotifyWatch.newBuilder().setWd(Integer.parseInt(m.group(1), 16))
                    .setMask((int) Long.parseLong(m.group(4), 16)).setPath(path).setInode(ino).build());
        }
        watches.sort(Comparator.comparingInt(InotifyWatch::getWd));
        return InotifyState.newBuilder().addAllWatches(watches).build();
    }

    private static int queued(int pid, int fd) {
        int pidfd = PidFd.open(pid);
        try {
            int ours = PidFd.getFd(pidfd, fd);
            try {
                return FileHandles.pending(ours);
            } finally {
                Files.closeQuietly(ours);
            }
        } finally {
            Files.closeQuietly(pidfd);
        }
    }

    /** The path of the file with handle ({@code type}, {@code handle}) on device {@code sdev}, or null. */
    private static String resolve(long sdev, int type, byte[] handle, long ino) {
        int major = (int) (sdev >>> 20), minor = (int) (sdev & 0xfffff);
        for (String mountPoint : mountPoints(major, minor)) {
            int mountFd;
            try {
                mountFd = Files.open(mountPoint, Files.O_RDONLY | Files.O_CLOEXEC);   // not O_PATH: EBADF
            } catch (ErrnoException e) {
                continue;
            }
            try {
                int file = FileHandles.open(mountFd, type, handle, FileHandles.O_PATH | Files.O_CLOEXEC);
                try {
                    String path = java.nio.file.Files.readSymbolicLink(Path.of("/proc/self/fd/" + file)).toString();
                    if (path.endsWith(" (deleted)")) return null;
                    Object actual = java.nio.file.Files.getAttribute(Path.of(path), "unix:ino");
                    return ((Long) actual) == ino ? path : null;
                } finally {
                    Files.closeQuietly(file);
                }
            } catch (ErrnoException | IOException e) {
                // a mount of the same device that does not reach this file (a bind mount of a subtree): next one
            } finally {
                Files.closeQuietly(mountFd);
            }
        }
        return null;
    }

    private static List<String> mountPoints(int major, int minor) {
        List<String> out = new ArrayList<>();
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                Matcher m = MOUNT_DEV.matcher(line);
                if (m.find() && Integer.parseInt(m.group(1)) == major && Integer.parseInt(m.group(2)) == minor) {
                    out.add(m.group(3).replace("\\040", " "));
                }
            }
        } catch (IOException e) {
            return out;
        }
        return out;
    }

}
