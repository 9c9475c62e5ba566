package io.jmigrate.engine.proc;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Parser of /proc/PID/smaps (and the same format of /proc/PID/smaps_rollup minus its header). */
public final class Smaps {
    private Smaps() {}

    public static List<SmapsEntry> parse(String text) {
        List<SmapsEntry> entries = new ArrayList<>();
        Builder current = null;
        for (String line : (Iterable<String>) text.lines()::iterator) {
            if (line.isBlank()) continue;
            if (isHeader(line)) {
                if (current != null) entries.add(current.build());
                current = new Builder(Maps.parseLine(line));
                continue;
            }
            if (current == null) throw new ProcFormatException("smaps", "field before the first mapping", line);
            current.addField(line);
        }
        if (current != null) entries.add(current.build());
        return List.copyOf(entries);
    }

    /**
     * A header starts with {@code hex-hex}. Looking at the whole first token matters: field names such as
     * "Anonymous:" also start with a hex digit.
     */
    private static boolean isHeader(String line) {
        int space = line.indexOf(' ');
        int dash = line.indexOf('-');
        if (space < 0 || dash <= 0 || dash > space) return false;
        for (int i = 0; i < space; i++) {
            if (i != dash && Character.digit(line.charAt(i), 16) < 0) return false;
        }
        return true;
    }

    private static final class Builder {
        private final MapsEntry mapping;
        private final Map<String, Long> kb = new HashMap<>();
        private final Set<String> flags = new HashSet<>();
        private final Map<String, String> other = new HashMap<>();

        Builder(MapsEntry mapping) {
            this.mapping = mapping;
        }

        void addField(String line) {
            int colon = line.indexOf(':');
            if (colon <= 0) throw new ProcFormatException("smaps", "expected \"Key: value\"", line);
            String key = line.substring(0, colon);
            String value = line.substring(colon + 1).strip();
            if (key.equals("VmFlags")) {
                for (String code : value.split(" +")) if (!code.isEmpty()) flags.add(code);
            } else if (value.endsWith(" kB")) {
                String number = value.substring(0, value.length() - 3).strip();
                try {
                    kb.put(key, Long.parseLong(number));
                } catch (NumberFormatException e) {
                    throw new ProcFormatException("smaps", "bad kB value", line, e);
                }
            } else {
                other.put(key, value);
            }
        }

        SmapsEntry build() {
            return new SmapsEntry(mapping, kb, flags, other);
        }
    }
}
