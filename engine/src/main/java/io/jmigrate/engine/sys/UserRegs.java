package io.jmigrate.engine.sys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/** struct user_regs_struct of x86_64: 27 machine words in the kernel's order. */
public final class UserRegs {
    public static final int WORDS = 27;
    public static final long SIZE = WORDS * 8L;
    public static final String[] NAMES = {"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
            "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base",
            "gs_base", "ds", "es", "fs", "gs"};
    public static final int R15 = 0, R14 = 1, R13 = 2, R12 = 3, RBP = 4, RBX = 5, R11 = 6, R10 = 7, R9 = 8,
            R8 = 9, RAX = 10, RCX = 11, RDX = 12, RSI = 13, RDI = 14, ORIG_RAX = 15, RIP = 16, CS = 17,
            EFLAGS = 18, RSP = 19, SS = 20, FS_BASE = 21, GS_BASE = 22, DS = 23, ES = 24, FS = 25, GS = 26;

    private final long[] words;

    public UserRegs(long[] words) {
        if (words.length != WORDS) throw new IllegalArgumentException("user_regs_struct has " + WORDS + " words");
        this.words = words.clone();
    }

    public static UserRegs read(MemorySegment segment) {
        return new UserRegs(segment.asSlice(0, SIZE).toArray(ValueLayout.JAVA_LONG));
    }

    public void writeTo(MemorySegment segment) {
        MemorySegment.copy(words, 0, segment, ValueLayout.JAVA_LONG, 0, WORDS);
    }

    public long get(int index) { return words[index]; }

    public UserRegs with(int index, long value) {
        long[] copy = words.clone();
        copy[index] = value;
        return new UserRegs(copy);
    }

    public long[] words() { return words.clone(); }

    public long rip() { return words[RIP]; }
    public long rsp() { return words[RSP]; }
    public long rax() { return words[RAX]; }
    public long origRax() { return words[ORIG_RAX]; }

    /**
     * Registers set up to run system call {@code nr} at {@code syscallInsn} (the address of a {@code syscall}
     * instruction). orig_rax is -1 so the kernel does not apply its restart logic to our injected state.
     */
    public UserRegs forSyscall(long syscallInsn, long nr, long... args) {
        long[] w = words.clone();
        w[RAX] = nr;
        w[ORIG_RAX] = -1;
        w[RIP] = syscallInsn;
        int[] slots = {RDI, RSI, RDX, R10, R8, R9};
        for (int i = 0; i < slots.length; i++) w[slots[i]] = i < args.length ? args[i] : 0;
        return new UserRegs(w);
    }

    @Override public boolean equals(Object o) { return o instanceof UserRegs r && Arrays.equals(words, r.words); }
    @Override public int hashCode() { return Arrays.hashCode(words); }

    @Override public String toString() {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < WORDS; i++) sb.append(i == 0 ? "" : ", ").append(NAMES[i]).append('=').append(Long.toHexString(words[i]));
        return sb.append('}').toString();
    }
}
