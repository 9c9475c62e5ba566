package io.jmigrate.engine.net;

import io.jmigrate.engine.image.proto.TcpConnState;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The network lock: between the dump's kill and the restore, nothing holds the connections' ports, and the kernel
 * answers any packet the peer sends with a reset. An nftables table per dumped tree drops the packets addressed
 * to the dumped connections' local ends meanwhile; the peer retransmits, and once the restore has the sockets
 * back it unlocks and the retransmission gets through. Without nft the lock is skipped, with a warning.
 */
public final class NetworkLock {
    private static final List<String> NFT = List.of("/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft");

    private NetworkLock() {}

    static String table(int rootPid) {
        return "jmigrate_lock_" + rootPid;
    }

    /** Drops incoming packets of {@code connections}; false (nothing done) if nft is not available. */
    public static boolean lock(int rootPid, List<TcpConnState> connections) {
        if (connections.isEmpty()) return true;
        String nft = nft();
        if (nft == null) return false;
        StringBuilder script = new StringBuilder("table inet ").append(table(rootPid)).append(" {\n")
                .append("  chain input {\n    type filter hook input priority -150; policy accept;\n");
        for (TcpConnState c : connections) {
            Endpoint local = Endpoint.of(c.getLocal().toByteArray()), peer = Endpoint.of(c.getPeer().toByteArray());
            String ip = local.v6() ? "ip6" : "ip";
            script.append("    ").append(ip).append(" saddr ").append(peer.address()).append(' ').append(ip)
                    .append(" daddr ").append(local.address()).append(" tcp sport ").append(peer.port())
                    .append(" tcp dport ").append(local.port()).append(" drop\n");
        }
        script.append("  }\n}\n");
        run(nft, script.toString(), "-f", "-");
        return true;
    }

    /** Lifts the lock of the tree rooted at {@code rootPid}, if there is one. */
    public static void unlock(int rootPid) {
        String nft = nft();
        if (nft == null) return;
        try {
            run(nft, "", "delete", "table", "inet", table(rootPid));
        } catch (IllegalStateException e) {
            if (!e.getMessage().contains("No such file")) throw e;     // no lock was taken
        }
    }

    private record Endpoint(boolean v6, String address, int port) {
        static Endpoint of(byte[] sockaddr) {
            ByteBuffer b = ByteBuffer.wrap(sockaddr);
            int family = b.order(ByteOrder.LITTLE_ENDIAN).getShort(0);
            int port = Short.toUnsignedInt(b.order(ByteOrder.BIG_ENDIAN).getShort(2));
            try {
                if (family == 10) return new Endpoint(true, InetAddress.getByAddress(Arrays.copyOfRange(sockaddr, 8, 24)).getHostAddress(), port);
                return new Endpoint(false, InetAddress.getByAddress(Arrays.copyOfRange(sockaddr, 4, 8)).getHostAddress(), port);
            } catch (IOException e) {
                throw new IllegalStateException("bad socket address in the images", e);
            }
        }
    }

    private static String nft() {
        return NFT.stream().filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
    }

    private static void run(String nft, String stdin, String... args) {
        List<String> command = new java.util.ArrayList<>(List.of(nft));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("nft " + String.join(" ", args) + " failed: " + out);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run nft: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running nft", e);
        }
    }
}
