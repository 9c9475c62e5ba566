package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.proto.EpollState;
import io.jmigrate.engine.image.proto.EpollTarget;
import io.jmigrate.engine.image.proto.EventFdState;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.SignalFdState;
import io.jmigrate.engine.image.proto.TimerFdState;
import io.jmigrate.engine.proc.FdInfo;
import io.jmigrate.engine.proc.ProcFormatException;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Kcmp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Describes the anon-inode descriptors we can recreate from what /proc/PID/fdinfo shows: eventfd (counter),
 * timerfd (clock, time left, interval, unread expirations), signalfd (mask) and epoll (interest list). The others
 * (inotify, fanotify, userfaultfd, io_uring, pidfd, perf, bpf...) are refused.
 */
final class AnonFdCollector {
    private static final Pattern TFD = Pattern.compile("tfd:\\s*(\\d+)\\s+events:\\s*([0-9a-fA-F]+)\\s+data:\\s*([0-9a-fA-F]+).*");
    private static final Pattern TIMESPEC = Pattern.compile("\\(\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\)");

    private AnonFdCollector() {}

    /** {@code target} starts with "anon_inode:". */
    static FdEntry describe(ProcFs procfs, int pid, int fd, String target) {
        String which = "fd " + fd + " of PID " + pid;
        String name = target.substring("anon_inode:".length());
        FdKind kind = switch (name) {
            case "[eventfd]" -> FdKind.FD_EVENTFD;
            case "[timerfd]" -> FdKind.FD_TIMERFD;
            case "[signalfd]" -> FdKind.FD_SIGNALFD;
            case "[eventpoll]" -> FdKind.FD_EPOLL;
            case "[io_uring]" -> throw new DumpRefusedException(which + " is an io_uring instance; io_uring cannot be"
                    + " checkpointed (its rings and in-flight requests live in the kernel): run the program without io_uring");
            default -> throw new DumpRefusedException(which + " is " + name + "; this kind of descriptor is not supported yet"
                    + " (supported anonymous descriptors: eventfd, timerfd, signalfd, epoll)");
        };
        FdInfo info = procfs.fdInfo(pid, fd);
        FdEntry.Builder b = FdEntry.newBuilder().setFd(fd).setKind(kind).setPath(target).setFlags(info.flags());
        try {
            switch (kind) {
                case FD_EVENTFD -> b.setEventfd(EventFdState.newBuilder()
                        .setCount(Long.parseUnsignedLong(required(info, "eventfd-count"), 16))
                        .setSemaphore("1".equals(info.field("eventfd-semaphore"))));
                case FD_TIMERFD -> b.setTimerfd(TimerFdState.newBuilder()
                        .setClockid(Integer.parseInt(required(info, "clockid")))
                        .setTicks(Long.parseUnsignedLong(required(info, "ticks")))
                        .setSettimeFlags(Integer.parseInt(required(info, "settime flags"), 8))
                        .setValueNs(nanos(required(info, "it_value")))
                        .setIntervalNs(nanos(required(info, "it_interval"))));
                case FD_SIGNALFD -> b.setSignalfd(SignalFdState.newBuilder()
                        .setMask(Long.parseUnsignedLong(required(info, "sigmask"), 16)));
                case FD_EPOLL -> {
                    EpollState.Builder epoll = EpollState.newBuilder();
                    for (String line : info.linesStartingWith("tfd:")) {
                        Matcher m = TFD.matcher(line);
                        if (!m.matches()) throw new ProcFormatException("fdinfo", "bad epoll target line", line);
                        epoll.addTargets(EpollTarget.newBuilder().setTfd(Integer.parseInt(m.group(1)))
                                .setEvents((int) Long.parseLong(m.group(2), 16))
                                .setData(Long.parseUnsignedLong(m.group(3), 16)));
                    }
                    b.setEpoll(epoll);
                }
                default -> throw new IllegalStateException(kind.toString());
            }
        } catch (NumberFormatException e) {
            throw new ProcFormatException("fdinfo", "bad number in the fdinfo of " + which + " (" + target + ")",
                    String.join("; ", info.lines()), e);
        }
        return b.build();
    }

    /**
     * What only the whole table tells: which anon fds are dups of one another (one object, restored by dup3, not
     * two), and whether each epoll's interest list names fds the process still has, each once. kcmp answers both:
     * fdinfo's "tfd" is the number the file was registered under, which may have been closed or reused since.
     */
    static void link(int pid, FdTable.Builder table) {
        Map<FdKind, List<Integer>> originals = new HashMap<>();
        Set<Integer> open = new HashSet<>();
        for (FdEntry.Builder e : table.getFdsBuilderList()) {
            open.add(e.getFd());
            if (e.getAnonCase() == FdEntry.AnonCase.ANON_NOT_SET) continue;
            List<Integer> seen = originals.computeIfAbsent(e.getKind(), k -> new ArrayList<>());
            Integer original = null;
            for (int candidate : seen) {
                if (sameFile(pid, candidate, e.getFd())) {
                    original = candidate;
                    break;
                }
            }
            if (original != null) e.setDupOf(original);
            else seen.add(e.getFd());
        }
        for (FdEntry.Builder e : table.getFdsBuilderList()) {
            if (e.hasEpoll() && !e.hasDupOf()) checkInterestList(pid, e.getFd(), e.getEpoll(), open);
        }
    }

    private static void checkInterestList(int pid, int epfd, EpollState epoll, Set<Integer> open) {
        String which = "fd " + epfd + " of PID " + pid + " is an epoll instance that";
        Set<Integer> targets = new HashSet<>();
        for (EpollTarget t : epoll.getTargetsList()) {
            if (!targets.add(t.getTfd())) {
                throw new DumpRefusedException(which + " watches fd " + t.getTfd() + " twice (a watched fd was closed"
                        + " while its file stayed open elsewhere, and the number reused); this is not supported");
            }
        }
        for (EpollTarget t : epoll.getTargetsList()) {
            int tfd = t.getTfd();
            if (!open.contains(tfd)) {
                throw new DumpRefusedException(which + " watches fd " + tfd + ", which is closed (its file is still"
                        + " open under another fd); epoll watches that outlive their fd are not supported");
            }
            boolean same;
            try {
                same = Kcmp.epollWatches(pid, epfd, tfd, 0);
            } catch (ErrnoException e) {
                throw new DumpRefusedException(which + " watches fd " + tfd + ", and kcmp cannot tell which file that"
                        + " is (" + e.errnoName() + "; kcmp needs CONFIG_KCMP)");
            }
            if (!same) {
                throw new DumpRefusedException(which + " watches a file registered as fd " + tfd + ", but fd " + tfd
                        + " now names another file (closed and reused); this is not supported");
            }
        }
    }

    private static boolean sameFile(int pid, int fd1, int fd2) {
        try {
            return Kcmp.sameFile(pid, fd1, fd2);
        } catch (ErrnoException e) {
            if (e.is(Errno.EBADF)) throw new DumpRefusedException("fd " + fd2 + " of PID " + pid + " was closed while it was being dumped");
            throw new DumpRefusedException("fd " + fd2 + " of PID " + pid + " cannot be compared with fd " + fd1
                    + " to find dup'd descriptors (kcmp: " + e.errnoName() + "; kcmp needs CONFIG_KCMP)");
        }
    }

    private static String required(FdInfo info, String key) {
        String v = info.field(key);
        if (v == null) throw new ProcFormatException("fdinfo", "no " + key + ": line", String.join("; ", info.lines()));
        return v;
    }

    /** "(sec, nsec)" as fdinfo prints a timespec. */
    private static long nanos(String timespec) {
        Matcher m = TIMESPEC.matcher(timespec);
        if (!m.matches()) throw new NumberFormatException("not a (sec, nsec) pair: " + timespec);
        return Math.addExact(Math.multiplyExact(Long.parseLong(m.group(1)), 1_000_000_000L), Long.parseLong(m.group(2)));
    }
}
