package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.EpollTarget;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.TimerFdState;
import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.ProcessVm;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.EnumSet;
import java.util.Set;

/**
 * Recreates eventfd, timerfd, signalfd and epoll descriptors inside the puppet. Two passes: {@link #create} makes
 * each object at its number while the other fds are opened in fd order; {@link #finish}, once every fd exists,
 * dup3s the fds that shared an object and fills each epoll's interest list (its targets must exist first).
 */
final class AnonFdRestorer {
    private static final Set<FdKind> KINDS = EnumSet.of(FdKind.FD_EVENTFD, FdKind.FD_TIMERFD, FdKind.FD_SIGNALFD,
            FdKind.FD_EPOLL, FdKind.FD_INOTIFY);
    private static final int FCNTL = 72, F_SETFL = 4, IOCTL = 16;
    private static final int O_NONBLOCK = 04000, O_CLOEXEC = 02000000;   // = EFD_/TFD_/SFD_NONBLOCK, _CLOEXEC
    private static final int EFD_SEMAPHORE = 1, TFD_TIMER_ABSTIME = 1, EPOLL_CTL_ADD = 1;
    private static final int CLOCK_REALTIME = 0, CLOCK_BOOTTIME = 7, CLOCK_REALTIME_ALARM = 8, CLOCK_BOOTTIME_ALARM = 9;
    /** _IOW('T', 0, u64): sets a timerfd's unread expiration count; only with CONFIG_CHECKPOINT_RESTORE. */
    private static final long TFD_IOC_SET_TICKS = 0x40085400L;
    private static final long UINT_MAX = 0xffffffffL, NS = 1_000_000_000L;

    private AnonFdRestorer() {}

    static boolean handles(FdEntry fd) {
        return KINDS.contains(fd.getKind());
    }

    /** First pass: the object, at its fd number. A dup of a lower fd waits for {@link #finish}. */
    static void create(Puppet puppet, FdEntry fd) {
        if (fd.hasDupOf()) return;
        puppet.resetScratch();
        int nonblock = fd.getFlags() & O_NONBLOCK, cloexec = fd.getFlags() & O_CLOEXEC;
        String what = fd.getKind().name().substring(3).toLowerCase() + " fd " + fd.getFd();
        long created = switch (fd.getKind()) {
            // eventfd2 takes an unsigned int; a larger count is topped up with a write below
            case FD_EVENTFD -> puppet.call("eventfd2 for " + what, SyscallNumbers.EVENTFD2,
                    Long.compareUnsigned(fd.getEventfd().getCount(), UINT_MAX) > 0 ? UINT_MAX : fd.getEventfd().getCount(),
                    nonblock | cloexec | (fd.getEventfd().getSemaphore() ? EFD_SEMAPHORE : 0));
            case FD_TIMERFD -> puppet.call("timerfd_create for " + what, SyscallNumbers.TIMERFD_CREATE,
                    fd.getTimerfd().getClockid(), nonblock | cloexec);
            case FD_SIGNALFD -> puppet.call("signalfd4 for " + what, SyscallNumbers.SIGNALFD4, -1,
                    puppet.putLongs(fd.getSignalfd().getMask()), 8, nonblock | cloexec);
            case FD_EPOLL -> puppet.call("epoll_create1 for " + what, SyscallNumbers.EPOLL_CREATE1, cloexec);
            case FD_INOTIFY -> puppet.call("inotify_init1 for " + what, InotifyRestorer.INOTIFY_INIT1, nonblock | cloexec);
            default -> throw new IllegalArgumentException(what);
        };
        if (created != fd.getFd()) {
            puppet.call("dup3 " + what, SyscallNumbers.DUP3, created, fd.getFd(), cloexec);
            puppet.call("close", SyscallNumbers.CLOSE, created);
        }
        switch (fd.getKind()) {
            case FD_EVENTFD -> {
                long count = fd.getEventfd().getCount();
                if (Long.compareUnsigned(count, UINT_MAX) > 0) {
                    puppet.call("write the rest of the count to " + what, SyscallNumbers.WRITE, fd.getFd(),
                            puppet.putLongs(count - UINT_MAX), 8);
                }
            }
            case FD_TIMERFD -> arm(puppet, fd.getFd(), fd.getTimerfd(), what);
            case FD_INOTIFY -> InotifyRestorer.addWatches(puppet, fd.getFd(), fd.getInotify(), what);
            case FD_EPOLL -> {
                if (nonblock != 0) puppet.call("fcntl(F_SETFL) " + what, FCNTL, fd.getFd(), F_SETFL, nonblock);
            }
            default -> { }
        }
    }

    /** Second pass, every fd now open: dups of anon fds, then each epoll's interest list. */
    static void finish(Puppet puppet, FdTable fds) {
        for (FdEntry fd : fds.getFdsList()) {
            if (handles(fd) && fd.hasDupOf()) {
                puppet.call("dup3 fd " + fd.getDupOf() + " to fd " + fd.getFd(), SyscallNumbers.DUP3, fd.getDupOf(),
                        fd.getFd(), fd.getFlags() & O_CLOEXEC);
            }
        }
        for (FdEntry fd : fds.getFdsList()) {
            if (fd.getKind() != FdKind.FD_EPOLL || fd.hasDupOf()) continue;
            for (EpollTarget t : fd.getEpoll().getTargetsList()) {
                puppet.resetScratch();
                // struct epoll_event is packed on x86_64: u32 events, u64 data
                ByteBuffer event = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(t.getEvents()).putLong(t.getData());
                // Level-triggered targets that are ready show up at once, as before; an edge-triggered one that was
                // ready and already reported before the dump is reported once more (a spurious wake-up).
                puppet.call("epoll_ctl(ADD) fd " + t.getTfd() + " to epoll fd " + fd.getFd(), SyscallNumbers.EPOLL_CTL,
                        fd.getFd(), EPOLL_CTL_ADD, t.getTfd(), puppet.put(event.array()));
            }
        }
    }

    /**
     * Arms the timer with the time it had left (relative: the time between dump and restore does not count, as for
     * setitimer) and its interval, and gives back its expirations not yet read.
     */
    private static void arm(Puppet puppet, int fd, TimerFdState t, String what) {
        long value = t.getValueNs(), interval = t.getIntervalNs();
        // Expired but not read: fdinfo shows it_value 0, as the kernel re-arms a periodic timer only when it is read.
        // Arm it for the next period instead; the unread expirations come back through TFD_IOC_SET_TICKS.
        if (t.getTicks() > 0 && value == 0) value = interval;
        if (value != 0 || interval != 0) settime(puppet, fd, t.getClockid(), t.getSettimeFlags(), value, interval, what);
        if (t.getTicks() == 0) return;
        try {
            puppet.call("ioctl(TFD_IOC_SET_TICKS) " + what, IOCTL, fd, TFD_IOC_SET_TICKS, puppet.putLongs(t.getTicks()));
        } catch (ErrnoException e) {
            if (!e.is(Errno.ENOTTY)) throw e;
            // A kernel without CONFIG_CHECKPOINT_RESTORE cannot set the count. Arming with 1 ns makes the timer expire
            // at once, so the next read sees at least 1 expiration: exact for the usual ticks == 1, fewer if more
            // were pending (the count of unread expirations cannot be recreated otherwise).
            settime(puppet, fd, t.getClockid(), 0, 1, interval, what);
        }
    }

    private static void settime(Puppet puppet, int fd, int clockid, int flags, long valueNs, long intervalNs, String what) {
        if ((flags & TFD_TIMER_ABSTIME) != 0 && valueNs != 0) {
            // fdinfo gives the time left; an absolute timer (maybe TFD_TIMER_CANCEL_ON_SET) gets now + that
            long ts = puppet.put(new byte[16]);
            int readable = clockid == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME : clockid == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : clockid;
            puppet.call("clock_gettime(" + clockid + ")", SyscallNumbers.CLOCK_GETTIME, readable, ts);
            ByteBuffer now = ByteBuffer.wrap(ProcessVm.readBytes(puppet.pid, ts, 16)).order(ByteOrder.LITTLE_ENDIAN);
            valueNs += now.getLong(0) * NS + now.getLong(8);
        } else {
            flags = 0;
        }
        // struct itimerspec {it_interval, it_value}, each {tv_sec, tv_nsec}
        long spec = puppet.putLongs(intervalNs / NS, intervalNs % NS, valueNs / NS, valueNs % NS);
        puppet.call("timerfd_settime " + what, SyscallNumbers.TIMERFD_SETTIME, fd, flags, spec, 0);
    }
}
