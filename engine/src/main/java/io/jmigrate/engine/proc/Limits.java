package io.jmigrate.engine.proc;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Parser of /proc/PID/limits. */
public final class Limits {
    public static final int RLIMIT_CPU = 0, RLIMIT_FSIZE = 1, RLIMIT_DATA = 2, RLIMIT_STACK = 3, RLIMIT_CORE = 4,
            RLIMIT_RSS = 5, RLIMIT_NPROC = 6, RLIMIT_NOFILE = 7, RLIMIT_MEMLOCK = 8, RLIMIT_AS = 9, RLIMIT_LOCKS = 10,
            RLIMIT_SIGPENDING = 11, RLIMIT_MSGQUEUE = 12, RLIMIT_NICE = 13, RLIMIT_RTPRIO = 14, RLIMIT_RTTIME = 15;
    /** RLIM_INFINITY is ~0UL, which is -1 as a signed long. */
    public static final long RLIM_INFINITY = -1L;

    private static final Map<String, Integer> RESOURCES = Map.ofEntries(
            Map.entry("Max cpu time", RLIMIT_CPU),
            Map.entry("Max file size", RLIMIT_FSIZE),
            Map.entry("Max data size", RLIMIT_DATA),
            Map.entry("Max stack size", RLIMIT_STACK),
            Map.entry("Max core file size", RLIMIT_CORE),
            Map.entry("Max resident set", RLIMIT_RSS),
            Map.entry("Max processes", RLIMIT_NPROC),
            Map.entry("Max open files", RLIMIT_NOFILE),
            Map.entry("Max locked memory", RLIMIT_MEMLOCK),
            Map.entry("Max address space", RLIMIT_AS),
            Map.entry("Max file locks", RLIMIT_LOCKS),
            Map.entry("Max pending signals", RLIMIT_SIGPENDING),
            Map.entry("Max msgqueue size", RLIMIT_MSGQUEUE),
            Map.entry("Max nice priority", RLIMIT_NICE),
            Map.entry("Max realtime priority", RLIMIT_RTPRIO),
            Map.entry("Max realtime timeout", RLIMIT_RTTIME));

    private Limits() {}

    /**
     * The rows in file order. The kernel pads columns to fixed widths today, but rather than rely on that, a row is
     * read as words: the title runs up to the first word that is a number or "unlimited", then come soft, hard and
     * an optional unit (empty for the nice and realtime priorities).
     */
    public static List<Limit> parse(String text) {
        List<Limit> limits = new ArrayList<>();
        for (String line : (Iterable<String>) text.lines()::iterator) {
            if (line.isBlank() || line.startsWith("Limit ")) continue;
            String[] words = line.strip().split("\\s+");
            int firstValue = 0;
            while (firstValue < words.length && !isValue(words[firstValue])) firstValue++;
            if (firstValue == 0 || firstValue + 2 > words.length) {
                throw new ProcFormatException("limits", "expected \"NAME SOFT HARD [UNITS]\"", line);
            }
            String name = String.join(" ", List.of(words).subList(0, firstValue));
            limits.add(new Limit(RESOURCES.getOrDefault(name, -1), name,
                    value(line, words[firstValue]), value(line, words[firstValue + 1])));
        }
        return List.copyOf(limits);
    }

    /** The limit of {@code resource} (an RLIMIT_* number) among parsed rows. */
    public static Optional<Limit> find(List<Limit> limits, int resource) {
        return limits.stream().filter(limit -> limit.resource() == resource).findFirst();
    }

    private static boolean isValue(String word) {
        return word.equals("unlimited") || (!word.isEmpty() && word.chars().allMatch(Character::isDigit));
    }

    private static long value(String line, String word) {
        if (word.equals("unlimited")) return RLIM_INFINITY;
        try {
            return Long.parseUnsignedLong(word);
        } catch (NumberFormatException e) {
            throw new ProcFormatException("limits", "bad limit \"" + word + "\"", line, e);
        }
    }
}
