package io.jmigrate.engine.dump;

import com.google.protobuf.ByteString;
import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.image.proto.PipeContents;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Pipes;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Pipes across the dumped tree. A pipe can be recreated only if both its ends are held inside the tree (by one
 * process or several); its buffered bytes are read once, without taking them out, through a read end.
 */
final class PipeCollector {
    private static final int O_ACCMODE = 3, O_WRONLY = 1;

    /** Where each end of a pipe is held: {pid, fd} of one read end and one write end, or null. */
    private record Ends(int[] read, int[] write) {}

    private PipeCollector() {}

    /** Refuses pipes with an end outside the tree. */
    static void check(Map<Integer, FdTable> tables) {
        ends(tables);
    }

    /** The contents of every pipe of the tree, each listed under the process holding its first read end. */
    static Map<Integer, List<PipeContents>> collect(Map<Integer, FdTable> tables) {
        Map<Integer, List<PipeContents>> byPid = new LinkedHashMap<>();
        for (Map.Entry<Long, Ends> e : ends(tables).entrySet()) {
            int[] reader = e.getValue().read();
            int pidfd = PidFd.open(reader[0]);
            try {
                int ours = PidFd.getFd(pidfd, reader[1]);
                try {
                    byPid.computeIfAbsent(reader[0], k -> new ArrayList<>()).add(PipeContents.newBuilder()
                            .setInode(e.getKey()).setCapacity(Pipes.capacity(ours))
                            .setData(ByteString.copyFrom(Pipes.peek(ours))).build());
                } finally {
                    Files.closeQuietly(ours);
                }
            } finally {
                Files.closeQuietly(pidfd);
            }
        }
        return byPid;
    }

    private static Map<Long, Ends> ends(Map<Integer, FdTable> tables) {
        Map<Long, Ends> pipes = new TreeMap<>();
        tables.forEach((pid, table) -> {
            for (FdEntry fd : table.getFdsList()) {
                if (fd.getKind() != FdKind.FD_PIPE) continue;
                Ends ends = pipes.computeIfAbsent(fd.getPipeInode(), k -> new Ends(new int[]{-1, -1}, new int[]{-1, -1}));
                int[] slot = (fd.getFlags() & O_ACCMODE) == O_WRONLY ? ends.write() : ends.read();
                if (slot[0] < 0) {
                    slot[0] = pid;
                    slot[1] = fd.getFd();
                }
            }
        });
        pipes.forEach((inode, ends) -> {
            if (ends.read()[0] < 0 || ends.write()[0] < 0) {
                int[] held = ends.read()[0] >= 0 ? ends.read() : ends.write();
                throw new DumpRefusedException("fd " + held[1] + " of PID " + held[0] + " is one end of pipe:[" + inode
                        + "] whose other end belongs to a process outside the dumped tree; pipes to outside processes are not supported");
            }
        });
        return pipes;
    }
}
