package io.jmigrate.transport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/** A receiver that keeps every page in a map (tests): what committed, what aborted, and why. */
class MemoryReceiver implements ReceiverApp {
    final Map<String, Map<Long, byte[]>> committed = new ConcurrentHashMap<>();   // round -> (pid<<48|page vaddr) -> bytes
    final Map<String, Map<String, byte[]>> committedFiles = new ConcurrentHashMap<>();
    final List<String> aborted = new CopyOnWriteArrayList<>();
    final List<String> logLines = new CopyOnWriteArrayList<>();
    final AtomicLong pagesReceived = new AtomicLong();
    final CountDownLatch anyAbort = new CountDownLatch(1);
    /** Nanoseconds each batch takes to store: a slow receiver. */
    volatile long delayPerBatchNanos;

    static long key(int pid, long vaddr) { return ((long) pid << 48) | (vaddr >>> 12); }

    @Override
    public RoundSink openRound(String round, String peer, int streamCount) {
        Map<Long, byte[]> pages = new ConcurrentHashMap<>();
        Map<String, byte[]> files = new ConcurrentHashMap<>();
        return new RoundSink() {
            public void file(String name, long offset, byte[] content, boolean last) {
                files.merge(name, content, (a, b) -> {
                    byte[] r = java.util.Arrays.copyOf(a, a.length + b.length);
                    System.arraycopy(b, 0, r, a.length, b.length);
                    return r;
                });
            }

            public void pages(PageBatch batch) {
                if (delayPerBatchNanos > 0) java.util.concurrent.locks.LockSupport.parkNanos(delayPerBatchNanos);
                MemorySegment all = Arena.ofAuto().allocate(batch.byteLength());
                io.jmigrate.transport.PageFetcher.copyInto(batch, all, 0);
                for (int i = 0; i < batch.pageCount(); i++)
                    pages.put(key(batch.pid(), batch.vaddr() + i * 4096L), all.asSlice(i * 4096L, 4096).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                pagesReceived.addAndGet(batch.pageCount());
            }

            public String commit(byte[] inventory) {
                committed.put(round, pages);
                committedFiles.put(round, files);
                return "memory:" + round;
            }

            public void abort(String reason) {
                aborted.add(round + ": " + reason);
                anyAbort.countDown();
            }

            public long bytesStored() { return pagesReceived.get() * 4096; }
        };
    }

    @Override
    public ServedPages openPages(String round) {
        Map<Long, byte[]> pages = committed.get(round);
        if (pages == null) throw new TransportException("no committed round " + round);
        Arena arena = Arena.ofShared();
        return new ServedPages() {
            public MemorySegment pages(int pid, long vaddr, int nrPages) {
                MemorySegment out = arena.allocate((long) nrPages * 4096);
                for (int i = 0; i < nrPages; i++) {
                    byte[] p = pages.get(key(pid, vaddr + i * 4096L));
                    if (p == null) throw new TransportException("page 0x" + Long.toHexString(vaddr + i * 4096L) + " is not in round " + round);
                    MemorySegment.copy(MemorySegment.ofArray(p), 0, out, i * 4096L, 4096);
                }
                return out;
            }

            public void close() { arena.close(); }
        };
    }

    @Override
    public void log(String line) { logLines.add(line); }
}
