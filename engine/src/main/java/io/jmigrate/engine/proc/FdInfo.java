package io.jmigrate.engine.proc;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * /proc/PID/fdinfo/N: the common header plus whatever the file type adds (eventfd-count, timerfd's it_value,
 * one "tfd:" line per epoll target, one "inotify wd:" line per watch, ...).
 *
 * @param flags  the open flags, printed in octal (O_RDWR|O_NONBLOCK is 04002)
 * @param mntId  the mount id, -1 if absent
 * @param ino    the inode number (since 5.14), -1 if absent
 * @param fields every line other than pos/flags/mnt_id/ino as key (text before the first ':') to trimmed value;
 *               for keys that repeat (tfd, inotify wd, fanotify ino) the first line wins, see {@link #linesStartingWith}
 * @param lines  all lines as printed
 */
public record FdInfo(long pos, int flags, int mntId, long ino, Map<String, String> fields, List<String> lines) {
    public static final int O_ACCMODE = 3, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2;

    public FdInfo {
        fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        lines = List.copyOf(lines);
    }

    public static FdInfo parse(String text) {
        long pos = -1;
        int flags = -1;
        int mntId = -1;
        long ino = -1;
        Map<String, String> fields = new LinkedHashMap<>();
        List<String> lines = new ArrayList<>();
        for (String line : (Iterable<String>) text.lines()::iterator) {
            if (line.isEmpty()) continue;
            lines.add(line);
            int colon = line.indexOf(':');
            if (colon <= 0) continue;   // not a key: value line; kept in lines only
            String key = line.substring(0, colon);
            String value = line.substring(colon + 1).strip();
            switch (key) {
                case "pos" -> pos = number(line, value, 10);
                case "flags" -> flags = (int) number(line, value, 8);
                case "mnt_id" -> mntId = (int) number(line, value, 10);
                case "ino" -> ino = number(line, value, 10);
                default -> fields.putIfAbsent(key, value);
            }
        }
        if (pos < 0 || flags < 0) throw new ProcFormatException("fdinfo", "no pos: or flags: line", text.strip());
        return new FdInfo(pos, flags, mntId, ino, fields, lines);
    }

    /** O_RDONLY, O_WRONLY or O_RDWR. */
    public int accessMode() { return flags & O_ACCMODE; }

    /** The value of a type-specific line such as "eventfd-count" or "clockid", or null. */
    public String field(String key) { return fields.get(key); }

    /** The lines that start with {@code prefix}, for records that repeat: "tfd:", "inotify wd:", "fanotify ino:". */
    public List<String> linesStartingWith(String prefix) {
        return lines.stream().filter(line -> line.startsWith(prefix)).toList();
    }

    private static long number(String line, String value, int radix) {
        try {
            return Long.parseLong(value, radix);
        } catch (NumberFormatException e) {
            throw new ProcFormatException("fdinfo", "bad number", line, e);
        }
    }
}
