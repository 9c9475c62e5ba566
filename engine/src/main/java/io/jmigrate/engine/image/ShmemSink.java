package io.jmigrate.engine.image;

import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * Where the contents of the shmem objects a process owns go while it is dumped: its pages file (a local set), or
 * a file of their own, shmem-PID.img (a set sent to a page server, which lays out pages files by address as the
 * batches arrive and so could not keep offsets into them). See docs/image-format.md, "Shared memory".
 */
public interface ShmemSink {
    /**
     * Stores one run of {@code length} bytes (whole pages): the first {@code wanted} bytes read from {@code object}
     * at {@code position}, then zeros (the object ends inside its last page, or shrank meanwhile). Returns the file
     * offset of the run in the file that holds it, for {@code ShmemRun.file_offset}.
     */
    long copy(FileChannel object, long position, long wanted, long length) throws IOException;

    /** True when the runs are in shmem-PID.img ({@code MmImage.shmem_file}), false for pages-PID.img. */
    boolean separateFile();
}
