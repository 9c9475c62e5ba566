package io.jmigrate.engine.dump;

import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.image.proto.PosixTimer;
import io.jmigrate.engine.proc.PosixTimerInfo;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * POSIX timers (timer_create): what /proc/PID/timers shows (id, signal, value, notify mode and target, clock), and
 * what only the process can ask: time left, interval and overrun, by timer_gettime/timer_getoverrun injected into
 * the frozen leader (timer ids are per process, so any thread of it can ask).
 */
final class PosixTimerCollector {
    private static final int MAX_CLOCK_ID = 11;    // CLOCK_TAI; negative ids are CPU clocks of a given PID/TID

    private PosixTimerCollector() {}

    /** Refuses timers we cannot recreate, before the process is touched. */
    static List<PosixTimerInfo> check(ProcFs procfs, int pid) {
        List<PosixTimerInfo> timers = PosixTimerInfo.parse(procfs.readText(pid, "timers"));
        for (PosixTimerInfo t : timers) {
            if (t.clockId() < 0 || t.clockId() > MAX_CLOCK_ID) {
                throw new DumpRefusedException("POSIX timer " + t.id() + " of PID " + pid + " runs on clock " + t.clockId()
                        + " (the CPU clock of another process or thread); only the standard clocks are supported");
            }
        }
        return timers;
    }

    /** Every timer, lowest id first, with its time left; {@code scratch} holds one struct itimerspec. */
    static List<PosixTimer> collect(ProcFs procfs, int pid, RemoteSyscalls inProcess, long scratch) {
        List<PosixTimer> out = new ArrayList<>();
        List<PosixTimerInfo> timers = new ArrayList<>(check(procfs, pid));
        timers.sort(Comparator.comparingInt(PosixTimerInfo::id));
        for (PosixTimerInfo t : timers) {
            inProcess.call("timer_gettime(" + t.id() + ")", SyscallNumbers.TIMER_GETTIME, t.id(), scratch);
            long[] spec = ThreadCollector.readLongs(inProcess.tid(), scratch, 4);   // interval {s, ns}, value {s, ns}
            long overrun = inProcess.call("timer_getoverrun(" + t.id() + ")", SyscallNumbers.TIMER_GETOVERRUN, t.id());
            out.add(PosixTimer.newBuilder().setId(t.id()).setClockid(t.clockId()).setSignal(t.signal())
                    .setSigval(t.sigval()).setNotify(t.notifyMode()).setTarget(t.target())
                    .setIntervalNs(spec[0] * 1_000_000_000L + spec[1]).setValueNs(spec[2] * 1_000_000_000L + spec[3])
                    .setOverrun((int) overrun).build());
        }
        return out;
    }
}
