package io.jmigrate.engine.compel;

import io.jmigrate.engine.sys.ProcessVm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where in a task an injected system call executes: a {@code syscall} instruction (0f 05) inside its vDSO.
 * Every task has one, it is never written to, and jumping to those two bytes runs a system call whatever the
 * instruction around them is. So injection needs no code patching and nothing to clean up.
 */
public final class SyscallSite {
    private SyscallSite() {}

    /** The address of a syscall instruction in {@code pid}'s vDSO. */
    public static long find(int pid) {
        long[] vdso = vdsoRange(pid);
        if (vdso == null) {
            throw new CompelException("process " + pid + " has no [vdso] mapping: system calls cannot be injected"
                    + " (booted with vdso=0?)");
        }
        byte[] code = ProcessVm.readBytes(pid, vdso[0], (int) (vdso[1] - vdso[0]));
        for (int i = 0; i + 1 < code.length; i++) {
            if (code[i] == 0x0f && code[i + 1] == 0x05) return vdso[0] + i;
        }
        throw new CompelException("no syscall instruction in the vDSO of " + pid);
    }

    /** [start, end) of the [vdso] mapping, or null. */
    static long[] vdsoRange(int pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "maps"))) {
                if (line.endsWith("[vdso]")) {
                    int dash = line.indexOf('-');
                    int space = line.indexOf(' ');
                    return new long[]{Long.parseUnsignedLong(line.substring(0, dash), 16),
                            Long.parseUnsignedLong(line.substring(dash + 1, space), 16)};
                }
            }
            return null;
        } catch (IOException e) {
            throw new CompelException("cannot read maps of " + pid + ": " + e.getMessage(), e);
        }
    }
}
