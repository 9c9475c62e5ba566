package io.jmigrate.engine.check;

/**
 * One kernel facility as probed on this machine. {@code detail} is the measured value when available (a size, a
 * mode, the features offered) and the reason when not.
 */
public record Feature(String name, boolean available, String detail) {
    public Feature {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("feature without a name");
        detail = detail == null ? "" : detail;
    }

    public static Feature yes(String name, String detail) { return new Feature(name, true, detail); }

    public static Feature no(String name, String reason) { return new Feature(name, false, reason); }
}
