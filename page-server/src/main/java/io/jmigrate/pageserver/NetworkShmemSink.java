package io.jmigrate.pageserver;

import io.jmigrate.engine.image.ImageFormat;
import io.jmigrate.engine.image.ShmemSink;
import io.jmigrate.transport.RoundSender;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;

/**
 * Shmem contents sent to a page server as shmem-PID.img: the data in order, as file chunks on the round's first
 * stream; the page server writes the header and checksum, as it does for pages files. The runs' file offsets are
 * counted here and hold on the other side, which a pages file rebuilt by address could not promise.
 *
 * <p>One chunk is kept back until the next one or {@link #finish()}, which sends it flagged last. Nothing is sent
 * for a process whose objects hold no data. Used by one thread.
 */
final class NetworkShmemSink implements ShmemSink {
    private static final int CHUNK = 1 << 20;
    private final RoundSender sender;
    private final String name;
    private final byte[] pending = new byte[CHUNK];
    private int pendingLength;
    private long sent;

    NetworkShmemSink(RoundSender sender, String name) {
        this.sender = sender;
        this.name = name;
    }

    @Override
    public long copy(FileChannel object, long position, long wanted, long length) throws IOException {
        long fileOffset = ImageFormat.PAGES_DATA_OFFSET + sent + pendingLength;
        for (long done = 0; done < length; ) {
            if (pendingLength == CHUNK) flush(false);
            int n = (int) Math.min(CHUNK - pendingLength, length - done);
            int read = done < wanted ? object.read(ByteBuffer.wrap(pending, pendingLength, (int) Math.min(n, wanted - done)), position + done) : 0;
            if (read > 0) {
                n = read;
            } else {
                wanted = done;                                  // past the object's end (or it shrank): zeros
                Arrays.fill(pending, pendingLength, pendingLength + n, (byte) 0);
            }
            pendingLength += n;
            done += n;
        }
        return fileOffset;
    }

    @Override
    public boolean separateFile() { return true; }

    /** Sends what is left, completing the file; nothing if nothing was stored. */
    void finish() {
        if (sent + pendingLength > 0) flush(true);
    }

    private void flush(boolean last) {
        sender.sendFileChunk(name, sent, pending, 0, pendingLength, last);
        sent += pendingLength;
        pendingLength = 0;
    }
}
