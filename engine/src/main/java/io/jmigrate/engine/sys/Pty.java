package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Pseudo-terminals of our own (/dev/ptmx), and raw reads and writes on their master side. */
public final class Pty implements AutoCloseable {
    private static final long TIOCSPTLCK = 0x40045431L, TIOCGPTN = 0x80045430L;
    private static final int O_NOCTTY = 0400;

    private final int master;
    private final String slave;

    private Pty(int master, String slave) {
        this.master = master;
        this.slave = slave;
    }

    /** A new pty pair, unlocked; the master is non-blocking. */
    public static Pty open() {
        int master = Files.open("/dev/ptmx", Files.O_RDWR | O_NOCTTY | Files.O_CLOEXEC | Pipes.O_NONBLOCK);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(ValueLayout.JAVA_INT);
            Files.ioctl("ioctl(TIOCSPTLCK)", master, TIOCSPTLCK, n.address());
            Files.ioctl("ioctl(TIOCGPTN)", master, TIOCGPTN, n.address());
            return new Pty(master, "/dev/pts/" + n.get(ValueLayout.JAVA_INT, 0));
        } catch (RuntimeException e) {
            Files.closeQuietly(master);
            throw e;
        }
    }

    /** The slave's path, for a process to use as its terminal. */
    public String slave() { return slave; }

    /** Types {@code bytes} into the terminal, as a keyboard would. */
    public void write(byte[] bytes) { Pipes.writeFully(master, bytes); }

    /** What the terminal's programs wrote (and the line discipline echoed) so far; empty if nothing is waiting. */
    public byte[] readAvailable() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(4096);
            long n = Libc.syscall("read(pty master)", SyscallNumbers.READ, master, buf.address(), 4096);
            return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        } catch (ErrnoException e) {
            if (e.is(Errno.EAGAIN) || e.is(Errno.EIO)) return new byte[0];   // EIO: no slave open right now
            throw e;
        }
    }

    @Override
    public void close() { Files.closeQuietly(master); }
}
