package io.jmigrate.engine.compel;

import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.Wait;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Seizes and stops every thread of a process. Threads may be created while we work, so the thread list is read
 * again until a pass finds no thread we have not seized; threads that exit meanwhile are dropped.
 * Runs on the tracer thread.
 */
public final class Freezer {
    /** Options every seized task gets: syscall stops marked (SIGTRAP|0x80), and new threads auto-attached. */
    public static final int SEIZE_OPTIONS = Ptrace.O_TRACESYSGOOD | Ptrace.O_TRACECLONE;
    private static final int MAX_PASSES = 1000;

    private Freezer() {}

    private static int seccompMode(int tid) {
        try {
            return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc", Integer.toString(tid), "status")).stream()
                    .filter(l -> l.startsWith("Seccomp:")).map(l -> Integer.parseInt(l.substring(8).strip()))
                    .findFirst().orElse(0);
        } catch (java.io.IOException | NumberFormatException e) {
            return 0;
        }
    }

    /**
     * Seizes with seccomp suspended too, so the system calls we inject are not judged by the task's own filters
     * (they could kill it or fail our calls). That needs CAP_SYS_ADMIN and a kernel with checkpoint/restore
     * support; without them, tasks without filters can still be frozen.
     */
    private static void seize(int tid) {
        try {
            Ptrace.seize(tid, SEIZE_OPTIONS | Ptrace.O_SUSPEND_SECCOMP);
        } catch (ErrnoException e) {
            if (!e.is(Errno.EPERM) && !e.is(Errno.EINVAL)) throw e;
            if (seccompMode(tid) > 0) {
                throw new CompelException("thread " + tid + " runs under seccomp, and its filters cannot be suspended for"
                        + " jmigrate (" + e.getMessage() + "); run jmigrate with CAP_SYS_ADMIN");
            }
            Ptrace.seize(tid, SEIZE_OPTIONS);
        }
    }

    public static FrozenProcess freeze(int pid) {
        Map<Integer, StoppedThread> stopped = new LinkedHashMap<>();
        Set<Integer> seized = new LinkedHashSet<>();
        long frozenAt = 0;
        try {
            for (int pass = 0; ; pass++) {
                if (pass > MAX_PASSES) throw new CompelException("process " + pid + " keeps creating threads; gave up freezing it");
                List<Integer> current = threadIds(pid);
                if (current.isEmpty()) throw new CompelException("process " + pid + " exited while being frozen");
                boolean newThreads = false;
                for (int tid : current) {
                    if (seized.contains(tid)) continue;
                    try {
                        seize(tid);
                    } catch (ErrnoException e) {
                        if (e.is(Errno.ESRCH)) continue;           // exited before we got to it
                        throw e;
                    }
                    seized.add(tid);
                    newThreads = true;
                    Ptrace.interrupt(tid);
                    if (frozenAt == 0) frozenAt = System.nanoTime();
                }
                List<Integer> exited = new ArrayList<>();
                for (int tid : List.copyOf(seized)) {
                    if (stopped.containsKey(tid)) continue;
                    StoppedThread t = awaitInterruptStop(tid, seized);
                    if (t != null) stopped.put(tid, t);
                    else exited.add(tid);
                }
                exited.forEach(seized::remove);
                if (!newThreads && stopped.keySet().containsAll(seized)) break;
            }
            List<StoppedThread> ordered = new ArrayList<>();
            StoppedThread leader = stopped.get(pid);
            if (leader == null) throw new CompelException("process " + pid + " exited while being frozen");
            ordered.add(leader);
            stopped.values().stream().filter(t -> t.tid() != pid).forEach(ordered::add);
            return new FrozenProcess(pid, ordered, frozenAt);
        } catch (RuntimeException e) {
            for (int tid : seized) {
                StoppedThread t = stopped.get(tid);
                try {
                    if (t != null) Ptrace.setRegs(tid, t.savedRegs());
                    Ptrace.detach(tid, 0);
                } catch (ErrnoException ignored) {
                    // the thread is gone or not in a stop; detaching is all we can do for it
                }
            }
            throw e;
        }
    }

    /**
     * Waits for the stop PTRACE_INTERRUPT causes. Signals that arrive first are passed on (their handler runs
     * before the freeze, as if they had come a moment earlier); new threads seen through clone events are added
     * to {@code seized} and are stopped already. Returns null if the thread exited.
     */
    private static StoppedThread awaitInterruptStop(int tid, Set<Integer> seized) {
        while (true) {
            Wait.Status st = Wait.waitpid(tid, 0);
            if (st.gone()) return null;
            if (!st.stopped()) continue;
            int event = st.event();
            if (event == Ptrace.EVENT_STOP) {
                return new StoppedThread(tid, SyscallRestart.normalize(Ptrace.getRegs(tid)));
            }
            if (event == Ptrace.EVENT_CLONE || event == Ptrace.EVENT_FORK || event == Ptrace.EVENT_VFORK) {
                int child = (int) Ptrace.eventMessage(tid);
                if (event == Ptrace.EVENT_CLONE) seized.add(child);      // auto-attached; stops on its own
                Ptrace.interrupt(tid);       // the event stop used up our interrupt: ask again, or it runs on
                Ptrace.cont(tid, 0);
                continue;
            }
            Ptrace.interrupt(tid);
            if (event != 0) {
                Ptrace.cont(tid, 0);
                continue;
            }
            // signal-delivery stop: deliver it, the interrupt stops the thread right after
            Ptrace.cont(tid, st.syscallStop() ? 0 : st.stopSignal());
        }
    }

    /** Thread IDs of {@code pid}, from /proc/PID/task. Empty if the process is gone. */
    public static List<Integer> threadIds(int pid) {
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Integer.toString(pid), "task"))) {
            return tasks.map(p -> Integer.parseInt(p.getFileName().toString())).sorted().toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new CompelException("cannot list threads of " + pid + ": " + e.getMessage(), e);
        }
    }
}
