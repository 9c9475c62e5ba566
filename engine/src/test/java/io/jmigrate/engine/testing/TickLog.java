package io.jmigrate.engine.testing;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/** The fixtures' logs: "start ...", then "tick N ..." lines; a CORRUPT line means memory was found broken. */
public final class TickLog {
    private static final Pattern TICK = Pattern.compile("tick (\\d+)( .*)?");

    private TickLog() {}

    public static long lastTick(List<String> lines) {
        for (int i = lines.size() - 1; i >= 0; i--) {
            Matcher m = TICK.matcher(lines.get(i));
            if (m.matches()) return Long.parseLong(m.group(1));
        }
        return 0;
    }

    /** Every tick follows the one before it, nothing is CORRUPT, and the program started exactly once. */
    public static void assertConsecutive(List<String> lines) {
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("CORRUPT")), () -> "memory corrupt: " + lines);
        long previous = 0;
        for (String line : lines) {
            Matcher m = TICK.matcher(line);
            if (!m.matches()) continue;
            long tick = Long.parseLong(m.group(1));
            if (tick != previous + 1) fail("ticks not consecutive: " + previous + " then " + line);
            previous = tick;
        }
        assertEquals(1, lines.stream().filter(l -> l.startsWith("start ")).count(), "the program never restarted");
    }
}
