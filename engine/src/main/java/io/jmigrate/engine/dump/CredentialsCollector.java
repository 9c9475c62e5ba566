package io.jmigrate.engine.dump;

import io.jmigrate.engine.image.proto.Credentials;
import io.jmigrate.engine.proc.ProcFs;
import io.jmigrate.engine.proc.ProcStatus;

import java.util.List;

/**
 * Who the process is: uids, gids, supplementary groups, capability sets, no_new_privs. Credentials are per
 * thread in the kernel; threads that differ from their leader (rare: set by raw syscalls) are refused.
 */
final class CredentialsCollector {
    private CredentialsCollector() {}

    static Credentials collect(ProcFs procfs, int pid, List<Integer> tids) {
        ProcStatus s = procfs.status(pid);
        Credentials creds = of(s);
        for (int tid : tids) {
            if (tid == pid) continue;
            if (!of(procfs.taskStatus(pid, tid)).equals(creds)) {
                throw new DumpRefusedException("thread " + tid + " of PID " + pid
                        + " has other credentials than its leader; per-thread credentials are not supported");
            }
        }
        return creds;
    }

    private static Credentials of(ProcStatus s) {
        Credentials.Builder b = Credentials.newBuilder();
        for (int v : s.uids().toArray()) b.addUids(v);
        for (int v : s.gids().toArray()) b.addGids(v);
        s.groups().forEach(b::addGroups);
        return b.setCapInheritable(s.capInh()).setCapPermitted(s.capPrm()).setCapEffective(s.capEff())
                .setCapBounding(s.capBnd()).setCapAmbient(s.capAmb()).setNoNewPrivs(s.noNewPrivs()).build();
    }
}
