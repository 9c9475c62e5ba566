package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.PosixTimer;
import io.jmigrate.engine.image.proto.ThreadCore;
import io.jmigrate.engine.sys.ProcessVm;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * POSIX timers come back in two steps. {@link #create}: once every thread exists (a SIGEV_THREAD_ID target must),
 * each timer is created with its old id: prctl(PR_TIMER_CREATE_RESTORE_IDS) makes timer_create take the id it is
 * handed (kernel 6.15+); without it, timers are created in id order in the fresh process, whose ids count up from
 * 0, and gaps are filled with timers deleted again. {@link #arm}: last, just before release, so the time between
 * dump and restore does not count, with every signal blocked in the leader meanwhile: a timer firing between two
 * injected calls must stay queued with its SI_TIMER siginfo, not be caught by the tracer and sent again as a plain
 * signal.
 */
final class PosixTimerRestorer {
    private static final int PR_TIMER_CREATE_RESTORE_IDS = 77, RESTORE_IDS_OFF = 0, RESTORE_IDS_ON = 1;
    private static final int SIGEVENT_SIZE = 64, RED_ZONE = 128;

    private PosixTimerRestorer() {}

    static void create(Puppet puppet, List<PosixTimer> timers) {
        if (timers.isEmpty()) return;
        List<PosixTimer> byId = new ArrayList<>(timers);
        byId.sort(Comparator.comparingInt(PosixTimer::getId));
        long explicit = puppet.syscalls.callRaw(SyscallNumbers.PRCTL, PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_ON, 0, 0, 0);
        if (explicit == 0) {
            try {
                for (PosixTimer t : byId) {
                    int got = createOne(puppet, t.getClockid(), t.getSigval(), t.getSignal(), t.getNotify(), t.getTarget(), t.getId());
                    if (got != t.getId()) throw new RestoreException("POSIX timer " + t.getId() + " was created with id " + got);
                }
            } finally {
                puppet.call("prctl(PR_TIMER_CREATE_RESTORE_IDS, OFF)", SyscallNumbers.PRCTL, PR_TIMER_CREATE_RESTORE_IDS,
                        RESTORE_IDS_OFF, 0, 0, 0);
            }
            return;
        }
        List<Integer> fillers = new ArrayList<>();
        for (PosixTimer t : byId) {
            while (true) {
                int got = createOne(puppet, t.getClockid(), t.getSigval(), t.getSignal(), t.getNotify(), t.getTarget(), 0);
                if (got == t.getId()) break;
                if (got > t.getId()) {
                    throw new RestoreException("POSIX timer " + t.getId() + " cannot get its id back: this kernel has no "
                            + "PR_TIMER_CREATE_RESTORE_IDS and handed out " + got);
                }
                fillers.add(got);
            }
        }
        for (int filler : fillers) puppet.call("timer_delete(" + filler + ")", SyscallNumbers.TIMER_DELETE, filler);
    }

    /** Sets each armed timer going again with the time it had left; the leader's registers are final by now. */
    static void arm(Puppet leader, ThreadCore leaderCore, List<PosixTimer> timers) {
        if (timers.stream().noneMatch(t -> t.getValueNs() != 0)) return;
        // The scratch area is gone: the itimerspec goes below the restored stack pointer, past the red zone.
        long spec = (leaderCore.getRegs().getRsp() - RED_ZONE - 64) & ~15L;
        Ptrace.setSigmask(leader.pid, ~0L);
        try {
            for (PosixTimer t : timers) {
                if (t.getValueNs() == 0) continue;
                ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
                b.putLong(t.getIntervalNs() / 1_000_000_000L).putLong(t.getIntervalNs() % 1_000_000_000L)
                        .putLong(t.getValueNs() / 1_000_000_000L).putLong(t.getValueNs() % 1_000_000_000L);
                ProcessVm.writeBytes(leader.pid, spec, b.array());
                leader.call("timer_settime(" + t.getId() + ")", SyscallNumbers.TIMER_SETTIME, t.getId(), 0, spec, 0);
            }
        } finally {
            Ptrace.setSigmask(leader.pid, leaderCore.getSigmask());
        }
    }

    /** timer_create in the puppet; {@code id} is read by the kernel only in restore-ids mode. */
    private static int createOne(Puppet puppet, int clockid, long sigval, int signal, int notify, int target, int id) {
        puppet.resetScratch();
        ByteBuffer ev = ByteBuffer.allocate(SIGEVENT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        ev.putLong(0, sigval).putInt(8, signal).putInt(12, notify).putInt(16, target);
        long event = puppet.put(ev.array());
        long idSlot = puppet.put(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(0, id).array());
        puppet.call("timer_create(id " + id + ", clock " + clockid + ")", SyscallNumbers.TIMER_CREATE, clockid, event, idSlot);
        return ByteBuffer.wrap(ProcessVm.readBytes(puppet.pid, idSlot, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    }
}
