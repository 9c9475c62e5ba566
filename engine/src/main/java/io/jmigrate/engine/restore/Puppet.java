package io.jmigrate.engine.restore;

import io.jmigrate.engine.compel.RemoteSyscalls;
import io.jmigrate.engine.sys.ProcessVm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The task being shaped into the restored process: system calls run inside it, and a scratch area of its
 * memory carries their arguments (paths, structs). The scratch area is handed out bump-style and reset
 * between steps.
 */
final class Puppet {
    final int pid;
    final RemoteSyscalls syscalls;
    final long scratch;
    final long scratchSize;
    private long used;

    Puppet(int pid, RemoteSyscalls syscalls, long scratch, long scratchSize) {
        this.pid = pid;
        this.syscalls = syscalls;
        this.scratch = scratch;
        this.scratchSize = scratchSize;
    }

    /** The same process and scratch area, with system calls run by another of its threads. */
    Puppet inThread(RemoteSyscalls threadSyscalls) {
        return new Puppet(pid, threadSyscalls, scratch, scratchSize);
    }

    long call(String what, int nr, long... args) {
        return syscalls.call(what, nr, args);
    }

    void resetScratch() {
        used = 0;
    }

    long put(byte[] data) {
        long aligned = (used + 15) & ~15L;
        if (aligned + data.length > scratchSize) {
            throw new IllegalStateException("scratch area of " + scratchSize + " bytes is too small");
        }
        long addr = scratch + aligned;
        ProcessVm.writeBytes(pid, addr, data);
        used = aligned + data.length;
        return addr;
    }

    long putString(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        byte[] z = new byte[utf8.length + 1];
        System.arraycopy(utf8, 0, z, 0, utf8.length);
        return put(z);
    }

    long putLongs(long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) b.putLong(v);
        return put(b.array());
    }

    long available() {
        return scratchSize - used;
    }
}
