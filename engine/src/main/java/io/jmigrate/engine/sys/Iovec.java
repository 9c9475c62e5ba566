package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** struct iovec {void *base; size_t len;}. */
public final class Iovec {
    public static final long SIZE = 16;

    private Iovec() {}

    public static MemorySegment of(Arena arena, long base, long len) {
        MemorySegment iov = arena.allocate(SIZE, 8);
        set(iov, 0, base, len);
        return iov;
    }

    public static void set(MemorySegment array, int index, long base, long len) {
        array.set(ValueLayout.JAVA_LONG, index * SIZE, base);
        array.set(ValueLayout.JAVA_LONG, index * SIZE + 8, len);
    }
}
