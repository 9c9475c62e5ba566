package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * redis-server holding 1,000,000 keys, with a client connected: dump + restore. Every key is intact (the dataset
 * digest is the same), the server answers on the same port, and the connected client's TCP connection still works
 * without reconnecting (TCP repair). .ci/run installs redis-server.
 */
class RedisTest {
    private static final Path REDIS = Path.of("/usr/bin/redis-server");

    @TempDir
    Path tmp;

    /** A minimal RESP client: enough for status, integer and bulk replies. */
    private static final class Resp implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;
        private final BufferedReader in;

        Resp(int port) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(60_000);
            out = socket.getOutputStream();
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        }

        String call(String... args) throws IOException {
            StringBuilder b = new StringBuilder("*").append(args.length).append("\r\n");
            for (String a : args) b.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
            out.write(b.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            String line = in.readLine();
            if (line == null) throw new IOException("connection closed");
            if (line.startsWith("$")) return Integer.parseInt(line.substring(1)) < 0 ? null : in.readLine();
            return line;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void millionKeysAndAConnectedClientSurvive() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(REDIS), "redis-server is installed by .ci/run");
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        try (Workloads workloads = new Workloads()) {
            int pid = workloads.start(tmp.resolve("redis.log"), REDIS.toString(), "--port", Integer.toString(port),
                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp.toString(),
                    "--enable-debug-command", "local");
            Resp client = connect(port);
            assertEquals("+OK", client.call("DEBUG", "POPULATE", "1000000"));
            assertEquals(":1000000", client.call("DBSIZE"));
            String digest = client.call("DEBUG", "DIGEST");

            for (int cycle = 0; cycle < 2; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                assertEquals(pid, new Restorer().restore(RestoreOptions.of(images)).pid());

                // the same connection, never reconnected
                assertEquals(":" + (1_000_000 + cycle), client.call("DBSIZE"), "the keys, and those set after earlier restores");
                assertEquals(digest, client.call("DEBUG", "DIGEST"), "every key and value intact");
                assertEquals("value:123456", client.call("GET", "key:123456"));
                assertEquals("+OK", client.call("SET", "after-restore-" + cycle, "yes"));
                digest = client.call("DEBUG", "DIGEST");
                int fds = fdCount(pid);
                try (Resp fresh = new Resp(port)) {
                    assertEquals("yes", fresh.call("GET", "after-restore-" + cycle), "the same port answers new clients");
                }
                // the next dump must not find redis's end of that connection half-closed (CLOSE_WAIT is refused)
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (fdCount(pid) > fds) {
                    if (System.nanoTime() > deadline) throw new AssertionError("redis never closed the fresh client's connection");
                    Thread.sleep(5);
                }
            }
            client.close();
        }
    }

    private static int fdCount(int pid) throws IOException {
        try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return (int) fds.count();
        }
    }

    private static Resp connect(int port) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                Resp r = new Resp(port);
                if ("+PONG".equals(r.call("PING"))) return r;
                r.close();
            } catch (IOException e) {
                if (System.nanoTime() > deadline) throw new AssertionError("redis-server did not come up on port " + port, e);
            }
            Thread.sleep(20);
        }
    }
}
