package io.jmigrate.cli;

import io.jmigrate.transport.Transport;
import io.jmigrate.transport.TransportBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "bench-transport", mixinStandardHelpOptions = true,
        description = {"Measure the data plane on loopback: realistic pages (30%% zero, 40%% text-like, 30%% random)"
                + " streamed with TLS, with and without LZ4, next to a bare socket, our raw TCP stream and memcpy in the"
                + " same run. The receiver verifies every batch and copies every page into its own memory, as a restore"
                + " would. Each mode reports GB/s (wall), GB per CPU-second, and the CPU per GiB of each side, with what"
                + " two hosts of this many cores could move when the CPUs are the limit.", ""})
final class BenchTransportCommand implements Callable<Integer> {
    @Option(names = "--gib", defaultValue = "4", description = "memory moved per mode, GiB (default 4)")
    int gib;

    @Option(names = "--streams", defaultValue = "2", description = "parallel streams (default 2)")
    int streams;

    @Option(names = "--source-mib", defaultValue = "256", description = "distinct memory sent over and over (default 256 MiB)")
    int sourceMib;

    @Option(names = "--modes", split = ",", defaultValue = "memcpy,tcp,raw,tls,tls-holes,tls-lz4,tls-auto",
            description = "which measurements (default all): memcpy; tcp (bare loopback socket, the kernel's share);"
                    + " raw (our TCP stream, zero pages sent); tls (zero pages sent); tls-holes (zero pages as holes,"
                    + " no LZ4); tls-lz4 (LZ4 tried on every batch); tls-auto (LZ4 when it measures faster: the default"
                    + " of dump and send-images)")
    List<String> modes;

    @Option(names = "--tls-providers", split = ",", defaultValue = "openssl",
            description = "TLS engines to measure: openssl (BoringSSL, default), jdk. The launcher runs with C1 only"
                    + " unless jdk is named (the JDK's AES-GCM needs C2), so name jdk to compare both under C2")
    List<String> providers;

    @Override
    public Integer call() throws Exception {
        for (String m : modes)
            if (!TransportBench.MODES.contains(m))
                throw new IllegalArgumentException("unknown mode '" + m + "': choose from " + String.join(", ", TransportBench.MODES));
        var engines = providers.stream().map(io.jmigrate.transport.TlsSettings.Provider::parse).toList();
        System.out.println("transport bench: " + gib + " GiB per mode, " + streams + " streams, " + Transport.describe()
                + ", " + Runtime.getRuntime().availableProcessors() + " cores, JIT "
                + (java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().contains("-XX:TieredStopAtLevel=1")
                        ? "C1 only" : "C1+C2"));
        List<TransportBench.Result> results = TransportBench.run((long) gib << 30, (long) sourceMib << 20, streams,
                modes, engines, System.out::println);
        var rawRun = results.stream().filter(r -> r.mode().startsWith("raw TCP")).findFirst();
        var bestRun = results.stream().filter(r -> r.mode().startsWith("TLS + LZ4"))
                .max(java.util.Comparator.comparingDouble(TransportBench.Result::gbPerSecond));
        if (rawRun.isEmpty() || bestRun.isEmpty()) return 0;
        double raw = rawRun.get().gbPerSecond();
        TransportBench.Result best = bestRun.get();
        System.out.printf(Locale.ROOT, "goal: TLS + LZ4 >= 1.5 GB/s and within 2x of raw TCP: best %s %.2f GB/s, "
                        + "%.2fx of raw TCP -> %s%n", best.mode(), best.gbPerSecond(), raw / best.gbPerSecond(),
                best.gbPerSecond() >= 1.5 && raw / best.gbPerSecond() <= 2 ? "met" : "NOT met");
        return 0;
    }
}
