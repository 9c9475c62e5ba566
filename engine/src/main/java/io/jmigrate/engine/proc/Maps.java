package io.jmigrate.engine.proc;

import java.util.ArrayList;
import java.util.List;

/** Parser of /proc/PID/maps. */
public final class Maps {
    private Maps() {}

    /** All mappings in the order the kernel lists them (ascending addresses). Blank lines are ignored. */
    public static List<MapsEntry> parse(String text) {
        List<MapsEntry> entries = new ArrayList<>();
        for (String line : (Iterable<String>) text.lines()::iterator) {
            if (!line.isBlank()) entries.add(parseLine(line));
        }
        return List.copyOf(entries);
    }

    /**
     * One line: {@code start-end perms offset major:minor inode [name]}. The name is everything after the whitespace
     * that follows the inode, so names with spaces survive; trailing spaces of a name are kept because a path may
     * end with one (the kernel adds none after a name).
     */
    public static MapsEntry parseLine(String line) {
        var cursor = new FieldCursor("maps", line);
        long start = cursor.hexUntil('-');
        long end = cursor.hexUntil(' ');
        String perms = cursor.tokenUntil(' ');
        long offset = cursor.hexUntil(' ');
        int major = (int) cursor.hexUntil(':');
        int minor = (int) cursor.hexUntil(' ');
        long inode = cursor.decimalUntilSpaceOrEnd();
        String name = cursor.restAfterSpaces();
        try {
            return new MapsEntry(start, end, perms, offset, major, minor, inode, name);
        } catch (IllegalArgumentException e) {
            throw new ProcFormatException("maps", e.getMessage(), line, e);
        }
    }
}
