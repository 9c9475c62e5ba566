package io.jmigrate.engine.dump;

/**
 * The process holds something jmigrate cannot checkpoint (yet), or cannot be dumped at all. The message is one
 * line naming the resource and what to do; the process has been left running as it was.
 */
public final class DumpRefusedException extends RuntimeException {
    public DumpRefusedException(String message) {
        super(message);
    }
}
