package io.jmigrate.engine.compel;

import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.UserRegs;

/**
 * The kernel's system-call restart rules, applied by hand. A task stopped inside a system call shows
 * -ERESTART* in rax; the kernel would fix that up on its way back to user space, but once we change registers
 * (injection) or recreate the task elsewhere (restore) that path is gone. So the registers we keep are the ones
 * the task would have had after the kernel's fix-up: re-execute the call, or report EINTR where the kernel's
 * restart block (which cannot be carried over) would have been needed.
 */
public final class SyscallRestart {
    private static final int SYSCALL_INSN_LENGTH = 2;

    private SyscallRestart() {}

    public static UserRegs normalize(UserRegs regs) {
        if (regs.origRax() < 0) return regs;
        long rax = regs.rax();
        long[] w = regs.words();
        if (rax == -Errno.ERESTARTSYS || rax == -Errno.ERESTARTNOINTR || rax == -Errno.ERESTARTNOHAND) {
            w[UserRegs.RAX] = regs.origRax();
            w[UserRegs.RIP] = regs.rip() - SYSCALL_INSN_LENGTH;
        } else if (rax == -Errno.ERESTART_RESTARTBLOCK) {
            w[UserRegs.RAX] = -Errno.EINTR;
        }
        w[UserRegs.ORIG_RAX] = -1;
        return new UserRegs(w);
    }
}
