package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * --shell-job: descriptors that were on a terminal at dump (FD_TTY) are connected to the restoring jmigrate's own
 * terminal, opened by path like any character device (with the dumped flags; dups stay dups). The restored root
 * leads its own session, so the terminal becomes its controlling terminal only if no session has it already
 * (jmigrate's terminal normally belongs to the shell's session): reading and writing work, job control does not.
 */
public final class ShellJob {
    private ShellJob() {}

    /** The terminal on jmigrate's stdin, stdout or stderr (in that order), if any. */
    public static Optional<Path> ownTerminal() {
        for (int fd = 0; fd <= 2; fd++) {
            try {
                Path target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd));
                String t = target.toString();
                if (t.startsWith("/dev/pts/") || t.startsWith("/dev/tty") || t.equals("/dev/console")) return Optional.of(target);
            } catch (IOException | UnsupportedOperationException e) {
                // not open, or not a link: try the next one
            }
        }
        return Optional.empty();
    }

    /** {@code fds} with every terminal pointed at {@code terminal}; refuses terminals when it is null. */
    static FdTable connect(int pid, FdTable fds, Path terminal) {
        if (fds.getFdsList().stream().noneMatch(f -> f.getKind() == FdKind.FD_TTY)) return fds;
        FdTable.Builder b = fds.toBuilder();
        for (FdEntry.Builder fd : b.getFdsBuilderList()) {
            if (fd.getKind() != FdKind.FD_TTY) continue;
            if (terminal == null) {
                throw new RestoreException("fd " + fd.getFd() + " of PID " + pid + " was the terminal " + fd.getPath()
                        + "; restore with --shell-job to connect it to this terminal");
            }
            fd.setKind(FdKind.FD_CHAR_DEVICE).setPath(terminal.toString());
        }
        return b.build();
    }
}
