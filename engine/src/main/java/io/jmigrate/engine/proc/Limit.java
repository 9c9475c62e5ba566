package io.jmigrate.engine.proc;

/**
 * One resource limit as /proc/PID/limits shows it.
 *
 * @param resource the RLIMIT_* number ({@link Limits#RLIMIT_NOFILE} ...), or -1 for a row this code does not know
 * @param name     the row title, e.g. "Max open files"
 * @param soft     the soft limit, {@link Limits#RLIM_INFINITY} (-1) for "unlimited"
 * @param hard     the hard limit, {@link Limits#RLIM_INFINITY} (-1) for "unlimited"
 */
public record Limit(int resource, String name, long soft, long hard) {
    public boolean softUnlimited() { return soft == Limits.RLIM_INFINITY; }

    public boolean hardUnlimited() { return hard == Limits.RLIM_INFINITY; }
}
