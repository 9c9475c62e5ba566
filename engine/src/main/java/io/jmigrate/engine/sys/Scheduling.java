package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A thread's scheduling policy, real-time priority and nice value, set from outside (root may do it to any task). */
public final class Scheduling {
    private static final int SETPRIORITY = 141, SCHED_SETSCHEDULER = 144, PRIO_PROCESS = 0;

    private Scheduling() {}

    public static void setPolicy(int tid, int policy, int rtPriority) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment param = arena.allocateFrom(ValueLayout.JAVA_INT, rtPriority);   // struct sched_param
            Libc.syscall("sched_setscheduler(" + tid + ", " + policy + ")", SCHED_SETSCHEDULER, tid, policy, param.address());
        }
    }

    /** setpriority(PRIO_PROCESS, tid, nice): on Linux it acts on the one thread. */
    public static void setNice(int tid, int nice) {
        Libc.syscall("setpriority(" + tid + ", " + nice + ")", SETPRIORITY, PRIO_PROCESS, tid, nice);
    }
}
