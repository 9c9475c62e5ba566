package io.jmigrate.engine.proc;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * /proc/PID/status (or /proc/PID/task/TID/status). Signal and capability masks are 64-bit sets with bit (n-1) for
 * signal n and bit n for capability n.
 *
 * <p>Fields that older kernels or kernel threads omit get a neutral value rather than an error: umask and seccomp
 * -1, masks 0, NSpid just {@code [pid]}. Name, State, Tgid, Pid and PPid are always printed, so their absence is a
 * {@link ProcFormatException}.
 *
 * @param name     the comm, unescaped only as far as the kernel escapes it ({@code \n} and {@code \\})
 * @param umask    the file mode creation mask (printed in octal), -1 if the kernel does not show it
 * @param state    the one-letter state: R S D T t Z X I ...
 * @param groups   supplementary group ids
 * @param ngid     NUMA group id (0 when NUMA balancing is off)
 * @param seccomp  0 disabled, 1 strict, 2 filter; -1 if not shown
 * @param nsPids   the pid in each pid namespace from the outermost to the process's own
 * @param raw      every line, key to value with surrounding whitespace removed (for Name: only the tab after ':')
 */
public record ProcStatus(String name, int umask, char state, int tgid, int pid, int ppid, int tracerPid,
                         Ids uids, Ids gids, List<Integer> groups, int ngid, int threads,
                         long sigPnd, long shdPnd, long sigBlk, long sigIgn, long sigCgt,
                         long capInh, long capPrm, long capEff, long capBnd, long capAmb,
                         boolean noNewPrivs, int seccomp, List<Integer> nsPids, Map<String, String> raw) {

    /** The four ids of the Uid: and Gid: lines. */
    public record Ids(int real, int effective, int saved, int filesystem) {
        public int[] toArray() { return new int[] {real, effective, saved, filesystem}; }
    }

    public ProcStatus {
        groups = List.copyOf(groups);
        nsPids = List.copyOf(nsPids);
        raw = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
    }

    public static ProcStatus parse(String text) {
        Map<String, String> raw = new LinkedHashMap<>();
        for (String line : (Iterable<String>) text.lines()::iterator) {
            if (line.isEmpty()) continue;
            int colon = line.indexOf(':');
            if (colon <= 0) throw new ProcFormatException("status", "expected \"Key:\\tvalue\"", line);
            String key = line.substring(0, colon);
            String value = line.substring(colon + 1);
            // A comm may begin or end with spaces; only the separator tab is not part of it.
            raw.put(key, key.equals("Name") ? (value.startsWith("\t") ? value.substring(1) : value) : value.strip());
        }
        var fields = new Fields(raw);
        int pid = fields.requiredInt("Pid");
        return new ProcStatus(
                fields.required("Name"),
                fields.octalOr("Umask", -1),
                fields.required("State").charAt(0),
                fields.requiredInt("Tgid"),
                pid,
                fields.requiredInt("PPid"),
                fields.intOr("TracerPid", 0),
                fields.ids("Uid"),
                fields.ids("Gid"),
                fields.intList("Groups"),
                fields.intOr("Ngid", 0),
                fields.intOr("Threads", 1),
                fields.hex("SigPnd"), fields.hex("ShdPnd"), fields.hex("SigBlk"), fields.hex("SigIgn"), fields.hex("SigCgt"),
                fields.hex("CapInh"), fields.hex("CapPrm"), fields.hex("CapEff"), fields.hex("CapBnd"), fields.hex("CapAmb"),
                fields.intOr("NoNewPrivs", 0) != 0,
                fields.intOr("Seccomp", -1),
                fields.has("NSpid") ? fields.intList("NSpid") : List.of(pid),
                raw);
    }

    /** The raw value of a line, or null. */
    public String raw(String key) { return raw.get(key); }

    /** A "{@code N kB}" line such as VmRSS, VmLck or VmSwap; empty for kernel threads, which have no mm. */
    public OptionalLong kb(String key) {
        String value = raw.get(key);
        if (value == null) return OptionalLong.empty();
        String number = value.endsWith(" kB") ? value.substring(0, value.length() - 3).strip() : value;
        try {
            return OptionalLong.of(Long.parseLong(number));
        } catch (NumberFormatException e) {
            throw new ProcFormatException("status", "bad kB value", key + ":\t" + value, e);
        }
    }

    public boolean isKernelThread() { return "1".equals(raw.get("Kthread")); }

    /** Signal {@code signo} (1-based) is in the 64-bit mask. */
    public static boolean hasSignal(long mask, int signo) { return (mask & (1L << (signo - 1))) != 0; }

    /** Capability {@code cap} (0-based, e.g. 21 for CAP_SYS_ADMIN) is in the mask. */
    public static boolean hasCapability(long mask, int cap) { return (mask & (1L << cap)) != 0; }

    private record Fields(Map<String, String> raw) {
        boolean has(String key) { return raw.containsKey(key); }

        String required(String key) {
            String value = raw.get(key);
            if (value == null || value.isEmpty()) throw new ProcFormatException("status", "no " + key + " line", null);
            return value;
        }

        int requiredInt(String key) { return parseInt(key, required(key)); }

        int octalOr(String key, int absent) {
            String value = raw.get(key);
            if (value == null) return absent;
            try {
                return Integer.parseInt(value, 8);
            } catch (NumberFormatException e) {
                throw new ProcFormatException("status", "bad octal number", key + ":\t" + value, e);
            }
        }

        int intOr(String key, int absent) { return has(key) ? parseInt(key, raw.get(key)) : absent; }

        long hex(String key) {
            String value = raw.get(key);
            if (value == null) return 0;
            try {
                return Long.parseUnsignedLong(value, 16);
            } catch (NumberFormatException e) {
                throw new ProcFormatException("status", "bad hex mask", key + ":\t" + value, e);
            }
        }

        /** Ids are unsigned 32-bit; the overflow id 4294967295 becomes -1. */
        Ids ids(String key) {
            List<Integer> ids = intList(key);
            if (ids.isEmpty()) return new Ids(0, 0, 0, 0);
            if (ids.size() != 4) throw new ProcFormatException("status", "expected 4 ids", key + ":\t" + raw.get(key));
            return new Ids(ids.get(0), ids.get(1), ids.get(2), ids.get(3));
        }

        List<Integer> intList(String key) {
            String value = raw.getOrDefault(key, "");
            List<Integer> values = new ArrayList<>();
            for (String token : value.split("\\s+")) if (!token.isEmpty()) values.add(parseInt(key, token));
            return values;
        }

        private static int parseInt(String key, String value) {
            try {
                return Integer.parseUnsignedInt(value);
            } catch (NumberFormatException e) {
                throw new ProcFormatException("status", "bad number", key + ":\t" + value, e);
            }
        }
    }
}
