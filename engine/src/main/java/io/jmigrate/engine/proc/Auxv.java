package io.jmigrate.engine.proc;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.OptionalLong;

/** /proc/PID/auxv: the ELF auxiliary vector the kernel gave the program at exec, as 64-bit (type, value) pairs. */
public final class Auxv {
    public static final long AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
            AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14, AT_PLATFORM = 15,
            AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25, AT_HWCAP2 = 26, AT_EXECFN = 31,
            AT_SYSINFO_EHDR = 33, AT_MINSIGSTKSZ = 51;

    private static final int PAIR_BYTES = 2 * Long.BYTES;

    private Auxv() {}

    /**
     * The pairs flattened as {@code [type0, value0, type1, value1, ...]}, up to and including the AT_NULL pair.
     * Empty for kernel threads, whose auxv is empty. A vector the kernel cut off without AT_NULL is returned whole.
     */
    public static long[] parse(byte[] bytes) {
        if (bytes.length % PAIR_BYTES != 0) {
            throw new ProcFormatException("auxv", bytes.length + " bytes is not a whole number of 16-byte pairs", null);
        }
        // x86-64 and aarch64 both write the vector little-endian.
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long[] pairs = new long[bytes.length / Long.BYTES];
        int n = 0;
        while (in.hasRemaining()) {
            long type = in.getLong();
            pairs[n++] = type;
            pairs[n++] = in.getLong();
            if (type == AT_NULL) break;
        }
        return n == pairs.length ? pairs : Arrays.copyOf(pairs, n);
    }

    /** The value of the first entry of {@code type} in a parsed vector. */
    public static OptionalLong get(long[] pairs, long type) {
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            if (pairs[i] == type) return OptionalLong.of(pairs[i + 1]);
        }
        return OptionalLong.empty();
    }
}
