package io.jmigrate.transport;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Measures the data plane on loopback, in one process: memory of realistic pages (30% zero, 40% text-like,
 * 30% random) streamed to a receiver that decodes, verifies and copies every page into its own memory, as
 * a restore would. Each mode moves the same amount of memory, after an untimed warm-up pass over the source;
 * the rate is memory moved / wall time, and memory moved / CPU time of the whole process (both ends) shows what
 * the rate would be on an otherwise idle machine.
 */
public final class TransportBench {
    private TransportBench() {}

    /** One measured mode. */
    public record Result(String mode, long bytes, long nanos, long wireBytes, long cpuNanos, double compressedShare,
                         long senderCpuNanos, long receiverCpuNanos) {
        Result(String mode, long bytes, long nanos, long wireBytes, long cpuNanos, double compressedShare) {
            this(mode, bytes, nanos, wireBytes, cpuNanos, compressedShare, 0, 0);
        }

        /**
         * What two hosts of {@code cores} cores each could move, from this run's CPU time per side, if the link is
         * not the limit: the busier side's cores decide. 0 when the sides were not measured.
         */
        public double gbPerSecondOnTwoHosts(int cores) {
            long busier = Math.max(senderCpuNanos, receiverCpuNanos);
            return busier == 0 ? 0 : bytes / (double) busier * cores;
        }

        public double gbPerSecond() { return bytes / (double) nanos; }
        /** Memory moved per second of CPU time (all threads): what the rate would be with the cores to ourselves. */
        public double gbPerCpuSecond() { return bytes / (double) cpuNanos; }
    }

    /** Minor page faults of this process so far (fresh memory touched): on a lazily backed VM they dominate. */
    static long minorFaults() {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[7]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /** CPU time of every live thread, by id. */
    private static java.util.Map<Long, Long> threadCpu() {
        java.util.Map<Long, Long> m = new java.util.HashMap<>();
        for (long id : THREADS.getAllThreadIds()) m.put(id, Math.max(0, THREADS.getThreadCpuTime(id)));
        return m;
    }

    /** CPU time since {@code before} of the live threads whose name starts with {@code prefix}. */
    private static long threadCpuSince(java.util.Map<Long, Long> before, String prefix) {
        long sum = 0;
        for (java.lang.management.ThreadInfo t : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (t == null || !t.getThreadName().startsWith(prefix)) continue;
            long now = THREADS.getThreadCpuTime(t.getThreadId());
            if (now > 0) sum += now - before.getOrDefault(t.getThreadId(), 0L);
        }
        return sum;
    }

    private static final String[] WORDS = ("the of and to in is that for it as was with be by on not he this are or his"
            + " from at which but have an they you were her she there been one all we their has would when if so no will"
            + " more out up into do any your what has man could other than then its only some time these two may first"
            + " java.lang.String java.util.HashMap <div class=\"row\"> {\"id\": 12345, \"name\": \"value\"} 0x7ffd3a2b"
            + " ERROR WARN INFO DEBUG request response session user_id timestamp 2026-12-01T17:00:00Z").split(" ");

    private static final byte[][] WORD_BYTES = java.util.Arrays.stream(WORDS).map(String::getBytes).toArray(byte[][]::new);

    /** Fills {@code m} with the page mix, deterministically. */
    public static void fillRealistic(MemorySegment m, long seed) {
        Random r = new Random(seed);
        byte[] page = new byte[Wire.PAGE_SIZE];
        for (long off = 0; off < m.byteSize(); off += Wire.PAGE_SIZE) {
            int kind = r.nextInt(10);
            if (kind < 3) {
                m.asSlice(off, Wire.PAGE_SIZE).fill((byte) 0);
                continue;
            }
            if (kind < 7) {
                int at = 0;
                while (at < page.length) {
                    byte[] w = WORD_BYTES[r.nextInt(WORD_BYTES.length)];
                    int n = Math.min(w.length, page.length - at);
                    System.arraycopy(w, 0, page, at, n);
                    at += n;
                    if (at < page.length) page[at++] = (byte) (r.nextInt(8) == 0 ? '\n' : ' ');
                }
            } else {
                r.nextBytes(page);
            }
            MemorySegment.copy(MemorySegment.ofArray(page), 0, m, off, Wire.PAGE_SIZE);
        }
    }

    /** Every mode, in the order they run (see the CLI's --modes). */
    public static final List<String> MODES = List.of("memcpy", "tcp", "raw", "tls", "tls-holes", "tls-lz4", "tls-auto");

    /**
     * Runs the given {@link #MODES} (TLS modes once per engine) moving {@code totalBytes} of memory from a
     * {@code sourceBytes} buffer (sent repeatedly at advancing addresses) over {@code streams} streams;
     * {@code progress} gets one line per mode.
     */
    public static List<Result> run(long totalBytes, long sourceBytes, int streams, List<String> modes,
                                   List<TlsSettings.Provider> providers, Consumer<String> progress) throws IOException {
        Path pki = Files.createTempDirectory("jmigrate-bench-pki");
        List<Result> results = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            Certificates.initCa(pki, "bench CA", Duration.ofDays(1));
            Certificates.issue(pki, "server", List.of("127.0.0.1"), Duration.ofDays(1));
            Certificates.issue(pki, "client", List.of(), Duration.ofDays(1));
            MemorySegment source = arena.allocate(sourceBytes, Wire.PAGE_SIZE);
            MemorySegment target = arena.allocate(sourceBytes, Wire.PAGE_SIZE);
            fillRealistic(source, 1);
            target.fill((byte) 1);   // touched once, so no mode pays for first-touch page faults

            if (modes.contains("memcpy")) {
                long t0 = System.nanoTime(), c0 = processCpuNanos();
                for (long done = 0; done < totalBytes; done += sourceBytes) MemorySegment.copy(source, 0, target, 0, sourceBytes);
                results.add(report(progress, new Result("memcpy (one thread)", totalBytes, System.nanoTime() - t0, 0,
                        processCpuNanos() - c0, 0)));
            }
            if (modes.contains("tcp")) results.add(report(progress, bareTcp(totalBytes, source, target)));
            if (modes.contains("raw")) results.add(report(progress, stream("raw TCP (no TLS, no LZ4, zero pages sent)", null, null, Compression.NEVER, false,
                    totalBytes, source, target, streams)));
            for (TlsSettings.Provider p : providers) {
                if (p == TlsSettings.Provider.OPENSSL && !io.netty.handler.ssl.OpenSsl.isAvailable()) continue;
                String name = p == TlsSettings.Provider.OPENSSL ? "BoringSSL" : "JDK";
                if (modes.contains("tls")) results.add(report(progress, stream("TLS only (" + name + ", zero pages sent)", pki, p, Compression.NEVER, false,
                        totalBytes, source, target, streams)));
                if (modes.contains("tls-holes")) results.add(report(progress, stream("TLS + zero holes (" + name + ")", pki, p,
                        Compression.NEVER, true, totalBytes, source, target, streams)));
                if (modes.contains("tls-lz4")) results.add(report(progress, stream("TLS + LZ4 always + zero holes (" + name + ")", pki, p,
                        Compression.ALWAYS, true, totalBytes, source, target, streams)));
                if (modes.contains("tls-auto")) results.add(report(progress, stream("TLS + LZ4 auto + zero holes (" + name + ")", pki, p,
                        Compression.AUTO, true, totalBytes, source, target, streams)));
            }
            if (!modes.equals(List.of("memcpy")) && !verify(source, target)) throw new TransportException("bench: the receiver's copy differs from the source");
        } finally {
            try (var walk = Files.walk(pki)) {
                walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
        return results;
    }

    private static Result report(Consumer<String> progress, Result r) {
        progress.accept(String.format(java.util.Locale.ROOT, "%-44s %6.2f GB/s  %6.2f GB per CPU-s  (%.1f GiB in %.2f s, %.2f CPU-s%s)",
                r.mode(), r.gbPerSecond(), r.gbPerCpuSecond(), r.bytes() / (double) (1L << 30), r.nanos() / 1e9, r.cpuNanos() / 1e9,
                r.wireBytes() > 0 ? String.format(java.util.Locale.ROOT, ", %.2f GiB on the wire", r.wireBytes() / (double) (1L << 30)) : "")
                + (r.mode().contains("auto") ? String.format(java.util.Locale.ROOT, ", LZ4 on %.0f%% of batches", 100 * r.compressedShare()) : "")
                + (r.senderCpuNanos() > 0 ? String.format(java.util.Locale.ROOT, "%n%44s sender %.2f, receiver %.2f CPU-s per GiB: two %d-core hosts, CPU-bound, %.2f GB/s",
                        "", r.senderCpuNanos() / 1e9 / (r.bytes() / (double) (1L << 30)), r.receiverCpuNanos() / 1e9 / (r.bytes() / (double) (1L << 30)),
                        Runtime.getRuntime().availableProcessors(), r.gbPerSecondOnTwoHosts(Runtime.getRuntime().availableProcessors())) : ""));
        return r;
    }

    /**
     * The kernel's share alone: the source written to a loopback TCP socket in 1 MiB blocking writes and read into
     * the target by another thread, with no framing, checksum, TLS or page handling. Whatever the transport costs
     * above this per byte on the wire is ours (or TLS's).
     */
    private static Result bareTcp(long totalBytes, MemorySegment source, MemorySegment target) throws IOException {
        try (var listener = java.nio.channels.ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress("127.0.0.1", 0));
            try (var out = java.nio.channels.SocketChannel.open(listener.getLocalAddress()); var in = listener.accept()) {
                long chunk = 1 << 20, size = source.byteSize();
                Thread reader = Thread.ofPlatform().name("bench-tcp-reader").start(() -> {
                    try {
                        for (long got = 0; got < totalBytes; ) {
                            java.nio.ByteBuffer b = target.asSlice(got % size, Math.min(chunk, size - got % size)).asByteBuffer();
                            got += in.read(b);
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                long t0 = System.nanoTime(), c0 = processCpuNanos();
                for (long sent = 0; sent < totalBytes; sent += chunk) {
                    java.nio.ByteBuffer b = source.asSlice(sent % size, chunk).asByteBuffer();
                    while (b.hasRemaining()) out.write(b);
                }
                try {
                    reader.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted");
                }
                return new Result("bare TCP loopback (kernel only, 1 MiB writes)", totalBytes, System.nanoTime() - t0,
                        totalBytes, processCpuNanos() - c0, 0);
            }
        }
    }

    private static boolean verify(MemorySegment a, MemorySegment b) {
        return a.mismatch(b) == -1;
    }

    private static Result stream(String mode, Path pki, TlsSettings.Provider provider, Compression compress, boolean holes,
                                 long totalBytes, MemorySegment source, MemorySegment target, int streams) {
        long base = 0x100000000000L;
        long size = source.byteSize();
        ReceiverApp sink = new ReceiverApp() {
            public RoundSink openRound(String round, String peer, int streamCount) {
                return new RoundSink() {
                    public void file(String name, long offset, byte[] content, boolean last) {}
                    public void pages(PageBatch b) { PageFetcher.copyInto(b, target, (b.vaddr() - base) % size); }
                    public String commit(byte[] inventory) { return "bench"; }
                    public void abort(String reason) {}
                    public long bytesStored() { return 0; }
                };
            }

            public ServedPages openPages(String round) { throw new TransportException("bench serves no pages"); }
        };
        InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 0);
        try (TransportServer server = pki == null ? TransportServer.startPlaintext(bind, sink)
                : TransportServer.start(bind, TlsSettings.fromDirectory(pki, "server", provider).serverContext(), sink);
             TransportClient client = pki == null ? TransportClient.create(null, 2, Wire.DEFAULT_IN_FLIGHT_BYTES, "bench")
                     : TransportClient.tls(TlsSettings.fromDirectory(pki, "client", provider), "bench")) {
            try (RoundSender warm = RoundSender.open(client, server.address(), "warm-up", streams, compress, holes)) {
                warm.sendPages(1, base, source);   // untimed: the JIT compiles the hot path first
                warm.commit(new byte[0]);
            }
            java.util.Map<Long, Long> before = threadCpu();
            long t0 = System.nanoTime(), c0 = processCpuNanos(), f0 = minorFaults();
            long wire, senderCpu, receiverCpu;
            double share;
            try (RoundSender s = RoundSender.open(client, server.address(), "bench", streams, compress, holes)) {
                for (long done = 0; done < totalBytes; done += size) s.sendPages(1, base + done, source);
                // every batch is encoded now; the encoding threads end with the commit, so count them before it
                senderCpu = threadCpuSince(before, RoundSender.ENCODER_THREADS + "bench");
                s.commit(new byte[0]);
                wire = s.wireBytes();
                share = s.compressedShare();
                senderCpu += threadCpuSince(before, Transport.CLIENT_THREADS);
                receiverCpu = threadCpuSince(before, Transport.SERVER_THREADS);
            }
            Result r = new Result(mode, totalBytes, System.nanoTime() - t0, wire, processCpuNanos() - c0, share,
                    senderCpu, receiverCpu);
            if (Boolean.getBoolean("jmigrate.bench.faults"))
                System.err.println(mode + ": " + (minorFaults() - f0) + " minor faults");
            return r;
        }
    }
}
