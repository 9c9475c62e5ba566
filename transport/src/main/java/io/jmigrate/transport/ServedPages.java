package io.jmigrate.transport;

import java.lang.foreign.MemorySegment;

/** A committed round's memory, for lazy-page requests. */
public interface ServedPages extends AutoCloseable {
    /**
     * The {@code nrPages} pages of {@code pid} from {@code vaddr}, as a segment valid until {@link #close}; a
     * {@link TransportException} with a one-line reason if the round does not hold all of them.
     */
    MemorySegment pages(int pid, long vaddr, int nrPages);

    @Override
    void close();
}
