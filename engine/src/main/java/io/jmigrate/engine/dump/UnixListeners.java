package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.proto.UnixSocketState;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.sys.UnixDiag;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A listening unix socket (stream or seqpacket) with an empty accept queue, or a bound datagram socket with no
 * peer (a datagram server; its queue is read like a pair's): its name, its backlog, and for a path
 * name the socket file's mode and owner, so the restore can bind the same name again. A relative name was
 * resolved against the cwd the process had when it bound it, which we cannot know: it is taken relative to the cwd
 * at dump, and refused if no socket file is there.
 */
final class UnixListeners {
    private static final int S_IFMT = 0170000, S_IFSOCK = 0140000;

    private UnixListeners() {}

    static UnixSocketState describe(ProcFs procfs, int pid, String which, String kind, UnixDiag.Info info) {
        UnixSocketState.Builder b = UnixSocketState.newBuilder().setName(info.name()).setListening(true)
                .setBacklog((int) info.wqueue());
        if (info.name().startsWith("@")) return b.build();
        Path path = Path.of(info.name());
        if (!path.isAbsolute()) {
            String cwd = procfs.cwd(pid);
            b.setBindDir(cwd);
            path = Path.of(cwd).resolve(path);
        }
        try {
            Map<String, Object> st = Files.readAttributes(path, "unix:mode,uid,gid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) st.get("mode");
            if ((mode & S_IFMT) != S_IFSOCK) {
                throw new DumpRefusedException(which + " is " + kind + " bound to " + info.name() + ", but " + path
                        + " is not a socket file now");
            }
            return b.setFileMode(mode & 07777).setFileUid((Integer) st.get("uid")).setFileGid((Integer) st.get("gid")).build();
        } catch (IOException e) {
            throw new DumpRefusedException(which + " is " + kind + " bound to " + info.name() + ", whose socket file "
                    + path + " cannot be found (removed, or bound in another directory): " + e.getMessage());
        }
    }
}
