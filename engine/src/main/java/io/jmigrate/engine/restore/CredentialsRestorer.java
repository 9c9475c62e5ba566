package io.jmigrate.engine.restore;

import io.jmigrate.engine.image.proto.Credentials;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Gives a thread of the puppet its dumped identity. Credentials are per thread, so this runs in every thread,
 * last, because it drops the puppet's root powers: bounding set first (needs CAP_SETPCAP), then groups and gids,
 * then uids with PR_SET_KEEPCAPS so the permitted set survives, then the capability sets, ambient set and
 * no_new_privs.
 */
final class CredentialsRestorer {
    private static final int SETGROUPS = 116, SETRESUID = 117, SETRESGID = 119, SETFSUID = 122, SETFSGID = 123,
            CAPSET = 126, PRCTL = 157;
    private static final int PR_SET_KEEPCAPS = 8, PR_CAPBSET_DROP = 24, PR_SET_NO_NEW_PRIVS = 38, PR_CAP_AMBIENT = 47,
            PR_CAP_AMBIENT_RAISE = 2;
    private static final int CAPABILITY_VERSION_3 = 0x20080522;

    private CredentialsRestorer() {}

    static void restore(Puppet thread, Credentials c) {
        if (c.getUidsCount() < 4 || c.getGidsCount() < 4) return;      // images from before credentials were saved
        int lastCap = lastCap();
        for (int cap = 0; cap <= lastCap; cap++) {
            if ((c.getCapBounding() & (1L << cap)) == 0) thread.call("drop capability " + cap + " from the bounding set", PRCTL, PR_CAPBSET_DROP, cap);
        }
        thread.resetScratch();
        ByteBuffer groups = ByteBuffer.allocate(Math.max(4, c.getGroupsCount() * 4)).order(ByteOrder.LITTLE_ENDIAN);
        c.getGroupsList().forEach(groups::putInt);
        thread.call("setgroups", SETGROUPS, c.getGroupsCount(), thread.put(groups.array()));
        thread.call("setresgid", SETRESGID, c.getGids(0), c.getGids(1), c.getGids(2));
        thread.call("setfsgid", SETFSGID, c.getGids(3));
        thread.call("prctl(PR_SET_KEEPCAPS, 1)", PRCTL, PR_SET_KEEPCAPS, 1);
        thread.call("setresuid", SETRESUID, c.getUids(0), c.getUids(1), c.getUids(2));
        thread.call("setfsuid", SETFSUID, c.getUids(3));
        ByteBuffer caps = ByteBuffer.allocate(8 + 24).order(ByteOrder.LITTLE_ENDIAN);
        caps.putInt(CAPABILITY_VERSION_3).putInt(0);
        caps.putInt((int) c.getCapEffective()).putInt((int) c.getCapPermitted()).putInt((int) c.getCapInheritable());
        caps.putInt((int) (c.getCapEffective() >>> 32)).putInt((int) (c.getCapPermitted() >>> 32))
                .putInt((int) (c.getCapInheritable() >>> 32));
        long header = thread.put(caps.array());
        thread.call("capset", CAPSET, header, header + 8);
        thread.call("prctl(PR_SET_KEEPCAPS, 0)", PRCTL, PR_SET_KEEPCAPS, 0);
        for (int cap = 0; cap <= lastCap; cap++) {
            if ((c.getCapAmbient() & (1L << cap)) != 0) thread.call("raise ambient capability " + cap, PRCTL, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
        }
        if (c.getNoNewPrivs()) thread.call("prctl(PR_SET_NO_NEW_PRIVS)", PRCTL, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    }

    private static int lastCap() {
        try {
            return Integer.parseInt(Files.readString(Path.of("/proc/sys/kernel/cap_last_cap")).trim());
        } catch (Exception e) {
            return 40;
        }
    }
}
