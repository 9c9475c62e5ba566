package io.jmigrate.engine.proc;

/** Text from /proc that does not have the shape its parser expects; names the file kind and the offending line. */
public final class ProcFormatException extends RuntimeException {
    public ProcFormatException(String file, String problem, String line) {
        super(file + ": " + problem + (line == null ? "" : " in line \"" + line + "\""));
    }

    public ProcFormatException(String file, String problem, String line, Throwable cause) {
        this(file, problem, line);
        initCause(cause);
    }
}
