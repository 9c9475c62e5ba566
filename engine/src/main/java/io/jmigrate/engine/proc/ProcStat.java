package io.jmigrate.engine.proc;

import java.util.List;

/**
 * /proc/PID/stat (or /proc/PID/task/TID/stat), the fields a checkpoint needs. Field numbers in comments and in
 * {@link #field(int)} are those of proc(5): 1 is pid, 2 comm, 3 state, ...
 *
 * <p>The address fields (26-28 and 45-51) read as 0 when the reader may not ptrace the process, and for kernel
 * threads, which have no memory map.
 *
 * @param flags  the PF_* task flags (field 9), an unsigned 32-bit value
 * @param rss    resident set in pages (field 24)
 * @param fields every field after the comm, starting with field 3 (state), as printed
 */
public record ProcStat(int pid, String comm, char state, int ppid, int pgrp, int session, int ttyNr, long flags,
                       int numThreads, long startTime, long vsize, long rss, long startCode, long endCode,
                       long startStack, long startData, long endData, long startBrk, long argStart, long argEnd,
                       long envStart, long envEnd, int exitCode, List<String> fields) {
    /** PF_KTHREAD from include/linux/sched.h. */
    public static final long PF_KTHREAD = 0x00200000L;

    private static final int FIRST_FIELD_AFTER_COMM = 3;

    public ProcStat {
        fields = List.copyOf(fields);
    }

    /**
     * The comm sits in parentheses and may itself contain spaces, parentheses and ") " (it is whatever the process
     * set with prctl(PR_SET_NAME)), so it ends at the last ')' of the line, never the first.
     */
    public static ProcStat parse(String text) {
        String line = text.stripTrailing();
        int open = line.indexOf('(');
        int close = line.lastIndexOf(')');
        if (open <= 0 || close < open || close + 2 > line.length()) {
            throw new ProcFormatException("stat", "no \"(comm)\" field", line);
        }
        int pid = (int) parseNumber(line, line.substring(0, open).strip());
        String comm = line.substring(open + 1, close);
        List<String> fields = List.of(line.substring(close + 2).split(" "));
        var stat = new Reader(line, fields);
        String state = stat.text(3);
        if (state.length() != 1) throw new ProcFormatException("stat", "state is not one letter", line);
        return new ProcStat(pid, comm, state.charAt(0),
                (int) stat.number(4), (int) stat.number(5), (int) stat.number(6), (int) stat.number(7),
                stat.number(9), (int) stat.number(20), stat.number(22), stat.number(23), stat.number(24),
                stat.number(26), stat.number(27), stat.number(28),
                stat.number(45), stat.number(46), stat.number(47), stat.number(48), stat.number(49),
                stat.number(50), stat.number(51), (int) stat.number(52), fields);
    }

    /** PF_KTHREAD is set: a kernel thread, which cannot be checkpointed. */
    public boolean isKernelThread() { return (flags & PF_KTHREAD) != 0; }

    /** Field {@code number} as printed (proc(5) numbering, 3 or more); null if this kernel prints fewer fields. */
    public String field(int number) {
        int index = number - FIRST_FIELD_AFTER_COMM;
        if (index < 0) throw new IllegalArgumentException("fields 1 and 2 are pid() and comm(): " + number);
        return index < fields.size() ? fields.get(index) : null;
    }

    private record Reader(String line, List<String> fields) {
        String text(int number) {
            int index = number - FIRST_FIELD_AFTER_COMM;
            if (index >= fields.size()) throw new ProcFormatException("stat", "no field " + number, line);
            return fields.get(index);
        }

        /** Fields past the end are 0: kernels before 3.5 stop at field 44. */
        long number(int number) {
            int index = number - FIRST_FIELD_AFTER_COMM;
            return index < fields.size() ? parseNumber(line, fields.get(index)) : 0;
        }
    }

    /** Unsigned 64-bit fields (rsslim is 18446744073709551615) and signed ones (nice, tty) share one parser. */
    private static long parseNumber(String line, String value) {
        try {
            return value.startsWith("-") ? Long.parseLong(value) : Long.parseUnsignedLong(value);
        } catch (NumberFormatException e) {
            throw new ProcFormatException("stat", "bad number \"" + value + "\"", line, e);
        }
    }
}
