package io.jmigrate.engine.image;

import java.nio.file.Path;
import java.util.List;

/**
 * Where a restore reads a process's pages from: for every dumped run, the file and offset that hold its newest
 * contents. A local image chain ({@link LocalImageChain}) is one source; a page server will be another.
 */
public interface PageSource {
    /** A run of pages at {@code vaddr} held in {@code file} from {@code fileOffset}. */
    record LocatedRun(long vaddr, long nrPages, Path file, long fileOffset) {
        public long end() { return vaddr + nrPages * ImageFormat.PAGE_SIZE; }
    }

    /** Every page the process had at its final dump, sorted by address, each located in the file that holds it. */
    List<LocatedRun> locate(int pid);
}
