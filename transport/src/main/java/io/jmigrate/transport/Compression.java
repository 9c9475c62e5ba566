package io.jmigrate.transport;

import java.util.Locale;

/**
 * When a sender LZ4-compresses its page batches. Compression only pays when the link is slower than the
 * compressor: LZ4 takes text-like pages at about 0.3 GB/s per core here, slower than loopback or a 10 Gb/s link,
 * while on a 1 Gb/s link it nearly doubles what the link carries. {@link #AUTO} measures instead of guessing
 * ({@link CompressionGovernor}).
 */
public enum Compression {
    /** Every batch raw (zero pages are still holes). */
    NEVER,
    /** Every batch is tried; kept compressed when that saves at least 1/8. */
    ALWAYS,
    /** Alternates raw and compressed periods, keeps whichever moves more memory per second, and probes again. */
    AUTO;

    /** Parses {@code auto}, {@code always}/{@code lz4} or {@code never}/{@code off}, naming the choices otherwise. */
    public static Compression parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "always", "lz4", "on" -> ALWAYS;
            case "never", "off", "none" -> NEVER;
            default -> throw new IllegalArgumentException("--compress takes auto, always or never, not '" + s + "'");
        };
    }
}
