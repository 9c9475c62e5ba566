package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.proto.FdEntry;
import io.jmigrate.engine.image.proto.FdKind;
import io.jmigrate.engine.image.proto.FdTable;
import io.jmigrate.engine.sys.Kcmp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Regular files, directories and devices that several processes of the tree hold as ONE open file (inherited
 * across fork: they share one offset and status flags). kcmp tells them from separate opens of the same path;
 * each such file gets an id, carried by every fd that holds it, so the restore opens it once and hands it on.
 */
final class SharedFileCollector {
    private record Holder(int pid, int fd, long file, int id) {}

    private SharedFileCollector() {}

    static Map<Integer, FdTable> link(Map<Integer, FdTable> tables) {
        List<Holder> seen = new ArrayList<>();
        Map<Integer, FdTable.Builder> builders = new LinkedHashMap<>();
        tables.forEach((pid, t) -> builders.put(pid, t.toBuilder()));
        int nextId = 1;
        for (Map.Entry<Integer, FdTable.Builder> e : builders.entrySet()) {
            int pid = e.getKey();
            for (FdEntry.Builder fd : e.getValue().getFdsBuilderList()) {
                FdKind kind = fd.getKind();
                if (kind != FdKind.FD_REGULAR && kind != FdKind.FD_DIRECTORY && kind != FdKind.FD_CHAR_DEVICE
                        && kind != FdKind.FD_TTY) continue;
                long file = fd.getDev() * 31 + fd.getInode();
                for (int i = 0; i < seen.size(); i++) {
                    Holder h = seen.get(i);
                    if (h.pid() == pid || h.file() != file || !Kcmp.sameFile(h.pid(), h.fd(), pid, fd.getFd())) continue;
                    int id = h.id();
                    if (id == 0) {                              // the first holder learns it is shared
                        id = nextId++;
                        seen.set(i, new Holder(h.pid(), h.fd(), file, id));
                        for (FdEntry.Builder first : builders.get(h.pid()).getFdsBuilderList()) {
                            if (first.getFd() == h.fd()) first.setSharedFile(id);
                        }
                    }
                    fd.setSharedFile(id);
                    break;
                }
                if (fd.getSharedFile() == 0) seen.add(new Holder(pid, fd.getFd(), file, 0));
            }
        }
        Map<Integer, FdTable> out = new LinkedHashMap<>();
        builders.forEach((pid, b) -> out.put(pid, b.build()));
        return out;
    }
}
