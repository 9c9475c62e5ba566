package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.UnixSocketState;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Sockets;
import io.jmigrate.engine.sys.SyscallNumbers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * A listening unix socket, or a bound datagram socket with no peer, is made again in the root puppet, at its
 * carrier like the pairs (so processes that shared it share it again): socket, bind to the same name, then listen
 * with the same backlog, or (datagram) refill its queue. The socket file the
 * dumped socket left behind is stale (its socket is gone) and would make bind fail with EADDRINUSE: it is removed
 * first, and the new one gets the old file's mode and owner. A relative name is bound from the directory it was
 * resolved in, so getsockname reports the same name.
 */
final class UnixListenerRestorer {
    private static final int S_IFMT = 0170000, S_IFSOCK = 0140000, SYS_CONNECT = 42, SYS_BIND = 49, SYS_LISTEN = 50;

    private UnixListenerRestorer() {}

    static void verify(FdEntry fd, UnixSocketState s) {
        Path file = file(s);
        if (file == null || !java.nio.file.Files.exists(file, LinkOption.NOFOLLOW_LINKS)) return;
        try {
            int mode = (Integer) java.nio.file.Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if ((mode & S_IFMT) != S_IFSOCK) {
                throw new RestoreException("fd " + fd.getFd() + ": the unix socket listened on " + s.getName() + ", but "
                        + file + " is now something else than a socket file");
            }
        } catch (IOException e) {
            throw new RestoreException("fd " + fd.getFd() + ": " + file + " cannot be inspected: " + e.getMessage());
        }
    }

    static void create(Puppet root, int pidfd, UnixSocketState s, int carrier) {
        Path file = file(s);
        if (file != null) {
            try {
                java.nio.file.Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new RestoreException("the stale socket file " + file + " cannot be removed: " + e.getMessage());
            }
        }
        root.resetScratch();
        long fd = root.call("socket(AF_UNIX, " + Sockets.typeName(s.getType()) + ") for " + s.getName(), Sockets.SYS_SOCKET,
                Sockets.AF_UNIX, s.getType(), 0);
        root.call("dup3 socket to carrier " + carrier, SyscallNumbers.DUP3, fd, carrier, 0);
        root.call("close", SyscallNumbers.CLOSE, fd);
        int ours = PidFd.getFd(pidfd, carrier);
        try {
            UnixSocketRestorer.setBuffers(ours, s);
        } finally {
            Files.closeQuietly(ours);
        }
        byte[] address = sockaddr(s.getName());
        if (!s.getBindDir().isEmpty()) root.call("chdir " + s.getBindDir(), SyscallNumbers.CHDIR, root.putString(s.getBindDir()));
        root.call("bind " + s.getName(), SYS_BIND, carrier, root.put(address), address.length);
        if (s.getListening()) root.call("listen " + s.getName(), SYS_LISTEN, carrier, s.getBacklog());
        else refill(root, pidfd, s, carrier, address);
        if (file != null) {
            Files.chown(file.toString(), s.getFileUid(), s.getFileGid());
            Files.chmod(file.toString(), s.getFileMode());
        }
    }

    /**
     * A datagram server's queue: each message sent again, in order, from an unnamed socket connected to it (the
     * original senders' addresses are lost); then its peek offset.
     */
    private static void refill(Puppet root, int pidfd, UnixSocketState s, int carrier, byte[] address) {
        if (!s.getQueuedMessagesList().isEmpty()) {
            long sender = root.call("socket(AF_UNIX, SOCK_DGRAM) to refill " + s.getName(), Sockets.SYS_SOCKET,
                    Sockets.AF_UNIX, Sockets.SOCK_DGRAM, 0);
            try {
                root.call("connect to " + s.getName(), SYS_CONNECT, sender, root.put(address), address.length);
                int ours = PidFd.getFd(pidfd, (int) sender);
                try {
                    int i = 0;
                    for (com.google.protobuf.ByteString m : s.getQueuedMessagesList()) {
                        long sent = Sockets.send(ours, m.toByteArray(), Sockets.MSG_DONTWAIT | Sockets.MSG_NOSIGNAL);
                        if (sent != m.size()) {
                            throw new RestoreException("message " + i + " queued on " + s.getName() + " was sent short");
                        }
                        i++;
                    }
                } finally {
                    Files.closeQuietly(ours);
                }
            } finally {
                root.call("close", SyscallNumbers.CLOSE, sender);
            }
        }
        if (s.getPeekOffset() >= 0) {
            int ours = PidFd.getFd(pidfd, carrier);
            try {
                Sockets.setInt(ours, Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF, s.getPeekOffset());
            } finally {
                Files.closeQuietly(ours);
            }
        }
    }

    /** The socket file of a path name, null for an abstract name. */
    private static Path file(UnixSocketState s) {
        if (s.getName().startsWith("@")) return null;
        return s.getBindDir().isEmpty() ? Path.of(s.getName()) : Path.of(s.getBindDir()).resolve(s.getName());
    }

    /** struct sockaddr_un for {@code name}, with the length bind(2) wants. */
    private static byte[] sockaddr(String name) {
        boolean abstractName = name.startsWith("@");
        byte[] path = (abstractName ? name.substring(1) : name).getBytes(StandardCharsets.UTF_8);
        byte[] addr = new byte[2 + (abstractName ? 1 : 0) + path.length + (abstractName ? 0 : 1)];
        addr[0] = (byte) Sockets.AF_UNIX;
        System.arraycopy(path, 0, addr, abstractName ? 3 : 2, path.length);
        if (addr.length > 110) throw new RestoreException("unix socket name " + name + " is too long");
        return addr;
    }

}
