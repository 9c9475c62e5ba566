package io.jmigrate.engine.proc;

import java.util.ArrayList;
import java.util.List;

/**
 * One timer of /proc/PID/timers (timer_create). The kernel prints four lines per timer:
 * <pre>
 * ID: 2
 * signal: 10/0000000000001234          signo / sigev_value (%px)
 * notify: signal/tid.5789              none|signal|thread, then pid.N or tid.N (SIGEV_THREAD_ID)
 * ClockID: 7
 * </pre>
 *
 * @param notifyMode sigev_notify as timer_create takes it: SIGEV_SIGNAL 0, SIGEV_NONE 1, SIGEV_THREAD 2, plus
 *               SIGEV_THREAD_ID 4 when the signal goes to one thread
 * @param target the thread (SIGEV_THREAD_ID) or process the signal goes to
 */
public record PosixTimerInfo(int id, int signal, long sigval, int notifyMode, int target, int clockId) {
    public static final int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2, SIGEV_THREAD_ID = 4;

    public boolean threadTargeted() { return (notifyMode & SIGEV_THREAD_ID) != 0; }

    /** Every timer of the file, in the order printed (newest first). */
    public static List<PosixTimerInfo> parse(String text) {
        List<PosixTimerInfo> timers = new ArrayList<>();
        List<String> lines = text.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        if (lines.size() % 4 != 0) throw new ProcFormatException("timers", lines.size() + " lines, not 4 per timer", text.strip());
        for (int i = 0; i < lines.size(); i += 4) {
            int id = Integer.parseInt(value(lines.get(i), "ID"));
            String[] signal = value(lines.get(i + 1), "signal").split("/");
            String[] notify = value(lines.get(i + 2), "notify").split("/");
            int clockId = Integer.parseInt(value(lines.get(i + 3), "ClockID"));
            if (signal.length != 2 || notify.length != 2) {
                throw new ProcFormatException("timers", "bad signal or notify line", lines.get(i + 1) + " / " + lines.get(i + 2));
            }
            int how = switch (notify[0]) {
                case "signal" -> SIGEV_SIGNAL;
                case "none" -> SIGEV_NONE;
                case "thread" -> SIGEV_THREAD;
                default -> throw new ProcFormatException("timers", "unknown notify mode " + notify[0], lines.get(i + 2));
            };
            int dot = notify[1].indexOf('.');
            String kind = dot < 0 ? "" : notify[1].substring(0, dot);
            if (!kind.equals("pid") && !kind.equals("tid")) {
                throw new ProcFormatException("timers", "notify target is neither pid.N nor tid.N", lines.get(i + 2));
            }
            if (kind.equals("tid")) how |= SIGEV_THREAD_ID;
            timers.add(new PosixTimerInfo(id, Integer.parseInt(signal[0]), Long.parseUnsignedLong(signal[1], 16), how,
                    Integer.parseInt(notify[1].substring(dot + 1)), clockId));
        }
        return timers;
    }

    private static String value(String line, String key) {
        if (!line.startsWith(key + ":")) throw new ProcFormatException("timers", "expected " + key + ":", line);
        return line.substring(key.length() + 1).strip();
    }
}
