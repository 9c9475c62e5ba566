package io.jmigrate.engine;

import io.jmigrate.engine.dump.DumpOptions;
import io.jmigrate.engine.dump.Dumper;
import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.Restorer;
import io.jmigrate.engine.compel.Freezer;
import io.jmigrate.engine.testing.TickLog;
import io.jmigrate.engine.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CPython with three threads growing a shared dict and a multiprocessing child it talks to over two pipes
 * survives dump + restore: same PIDs and TIDs, the child still answers, the dict still verifies.
 */
class PythonMultiprocessTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final String SCRIPT = """
            import os, sys, threading, time, multiprocessing as mp
            log = open(sys.argv[1], 'a', buffering=1)
            def child_main(rx, tx):
                while True:
                    n = rx.recv()
                    tx.send(n * n)
            if __name__ == '__main__':
                mp.set_start_method('fork')
                p2c_r, p2c_w = mp.Pipe(duplex=False)
                c2p_r, c2p_w = mp.Pipe(duplex=False)
                child = mp.Process(target=child_main, args=(p2c_r, c2p_w), daemon=True)
                child.start()
                state = {}
                lock = threading.Lock()
                def worker(k):
                    i = 0
                    while True:
                        with lock:
                            state[(k, i)] = i * k
                        i += 1
                        time.sleep(0.005)
                for k in range(3):
                    threading.Thread(target=worker, args=(k,), daemon=True).start()
                log.write(f"start pid {os.getpid()} child {child.pid}\\n")
                step = 0
                while True:
                    step += 1
                    p2c_w.send(step)
                    reply = c2p_r.recv()
                    if reply != step * step:
                        log.write(f"CORRUPT reply {reply} to {step}\\n"); sys.exit(3)
                    with lock:
                        if any(v != i * k for (k, i), v in state.items()):
                            log.write("CORRUPT dict\\n"); sys.exit(3)
                        size = len(state)
                    log.write(f"tick {step} size {size}\\n")
                    time.sleep(0.01)
            """;

    @TempDir
    Path tmp;

    @Test
    void threadsChildAndPipesSurviveTwoCycles() throws IOException {
        Path script = Files.writeString(tmp.resolve("mp.py"), SCRIPT);
        try (Workloads workloads = new Workloads()) {
            Path log = tmp.resolve("mp.log");
            int pid = workloads.start(log.resolveSibling("mp.out"), "/usr/bin/python3", "-I", script.toString(), log.toString());
            List<String> started = Workloads.awaitLog(log, TIMEOUT, "ticks", l -> TickLog.lastTick(l) >= 3);
            int child = Integer.parseInt(started.getFirst().replaceAll(".*child (\\d+).*", "$1"));
            workloads.adopt(child);
            List<Integer> tids = Freezer.threadIds(pid);
            assertEquals(4, tids.size(), "main thread and three workers");
            for (int cycle = 0; cycle < 2; cycle++) {
                Path images = tmp.resolve("images-" + cycle);
                new Dumper().dump(DumpOptions.of(pid, images));
                Workloads.awaitGone(pid);
                Workloads.awaitGone(child);
                long ticks = TickLog.lastTick(Workloads.lines(log));
                assertEquals(pid, new Restorer().restore(RestoreOptions.of(images)).pid());
                assertTrue(Workloads.alive(child), "the multiprocessing child is back");
                assertEquals(tids, Freezer.threadIds(pid), "threads back with their TIDs");
                List<String> after = Workloads.awaitLog(log, TIMEOUT, "ticks after restore", l -> TickLog.lastTick(l) >= ticks + 3);
                TickLog.assertConsecutive(after);
            }
            assertEquals("", Files.readString(log.resolveSibling("mp.out")), "python printed no error");
        }
    }
}
