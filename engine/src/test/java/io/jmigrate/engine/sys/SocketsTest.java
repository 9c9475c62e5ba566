package io.jmigrate.engine.sys;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** sock_diag and queue peeking on socket pairs of the test JVM itself: what is read must be what is queued. */
class SocketsTest {
    private final List<Integer> open = new ArrayList<>();

    @AfterEach
    void closeAll() {
        for (int fd : open) Files.closeQuietly(fd);
    }

    private int[] pair(int type) {
        int[] sv = Sockets.pair(type);
        open.add(sv[0]);
        open.add(sv[1]);
        return sv;
    }

    private static long inode(int fd) throws IOException {
        String target = java.nio.file.Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        assertTrue(target.startsWith("socket:["), target);
        return Long.parseLong(target.substring(8, target.length() - 1));
    }

    @Test
    void sockDiagSeesBothEndsOfAPair() throws IOException {
        int[] sv = pair(Sockets.SOCK_SEQPACKET);
        Sockets.send(sv[0], new byte[300], 0);
        Sockets.send(sv[0], new byte[5], 0);
        Sockets.shutdown(sv[0], Sockets.SHUT_WR);
        try (UnixDiag diag = new UnixDiag()) {
            UnixDiag.Info a = diag.query(inode(sv[0])), b = diag.query(inode(sv[1]));
            assertEquals(inode(sv[0]), a.inode());
            assertEquals(Sockets.SOCK_SEQPACKET, a.type());
            assertEquals(UnixDiag.TCP_ESTABLISHED, a.state());
            assertNull(a.name(), "a socketpair is unnamed");
            assertEquals(inode(sv[1]), a.peer());
            assertEquals(inode(sv[0]), b.peer());
            assertEquals(0, a.rqueue());
            assertEquals(305, b.rqueue(), "bytes waiting to be read on the receiving end");
            assertEquals(UnixDiag.SEND_SHUTDOWN, a.shutdown());
            assertEquals(UnixDiag.RCV_SHUTDOWN, b.shutdown(), "shutdown of a seqpacket socket reaches its peer");
            assertNull(diag.query(1), "no unix socket has inode 1");
        }
    }

    @Test
    void streamPeekReturnsEverythingQueuedAndTakesNothing() {
        int[] sv = pair(Sockets.SOCK_STREAM);
        Sockets.setInt(sv[0], Sockets.SOL_SOCKET, Sockets.SO_SNDBUFFORCE, 4 << 20);
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        Random random = new Random(7);
        for (int size : new int[]{1, 17, 4096, 300_000, 250_000, 3}) {      // more than one 256 KiB peek buffer
            byte[] chunk = new byte[size];
            random.nextBytes(chunk);
            Sockets.sendAll(sv[0], chunk);
            sent.writeBytes(chunk);
        }
        Sockets.Queue queue = Sockets.peekQueue(sv[1], Sockets.SOCK_STREAM, false, 0);
        assertEquals(1, queue.messages().size());
        assertArrayEquals(sent.toByteArray(), queue.messages().getFirst());
        assertFalse(queue.passesFds());
        assertFalse(queue.urgentMark());
        assertEquals(-1, Sockets.getInt(sv[1], Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF), "peek offset off again");
        assertArrayEquals(queue.messages().getFirst(), Sockets.peekQueue(sv[1], Sockets.SOCK_STREAM, false, 0).messages()
                .getFirst(), "a second peek sees the same");

        ByteArrayOutputStream read = new ByteArrayOutputStream();
        while (read.size() < sent.size()) read.writeBytes(Sockets.receive(sv[1], 1 << 20));
        assertArrayEquals(sent.toByteArray(), read.toByteArray(), "the queue was left as it was");
        ErrnoException empty = assertThrows(ErrnoException.class, () -> Sockets.receive(sv[1], 1));
        assertTrue(empty.is(Errno.EAGAIN));
        assertTrue(Sockets.peekQueue(sv[1], Sockets.SOCK_STREAM, false, 0).messages().isEmpty());
    }

    @ParameterizedTest
    @ValueSource(ints = {Sockets.SOCK_DGRAM, Sockets.SOCK_SEQPACKET})
    void messagePeekKeepsEachBoundary(int type) {
        int[] sv = pair(type);
        Sockets.setInt(sv[0], Sockets.SOL_SOCKET, Sockets.SO_SNDBUFFORCE, 1 << 20);
        Random random = new Random(type);
        List<byte[]> sent = new ArrayList<>();
        for (int size : new int[]{0, 1, 1000, 70_000, 0, 2, 65_536}) {
            byte[] m = new byte[size];
            random.nextBytes(m);
            assertEquals(size, Sockets.send(sv[0], m, Sockets.MSG_DONTWAIT));
            sent.add(m);
        }
        Sockets.setInt(sv[1], Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF, 3);    // the process's own, kept as is
        // maxMessage below the largest datagram: the peek buffer has to grow
        Sockets.Queue queue = Sockets.peekQueue(sv[1], type, false, 1000);
        assertEquals(3, Sockets.getInt(sv[1], Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF));
        Sockets.setInt(sv[1], Sockets.SOL_SOCKET, Sockets.SO_PEEK_OFF, -1);
        assertEquals(sent.size(), queue.messages().size(), "one element per message, zero-length ones included");
        for (int i = 0; i < sent.size(); i++) assertArrayEquals(sent.get(i), queue.messages().get(i), "message " + i);
        for (int i = 0; i < sent.size(); i++) {
            assertArrayEquals(sent.get(i), Sockets.receive(sv[1], 1 << 20), "message " + i + " still queued");
        }
    }

    @Test
    void urgentDataIsNoticedWhereverItIs() {
        int[] sv = pair(Sockets.SOCK_STREAM);
        Sockets.send(sv[0], "abc".getBytes(), 0);
        Sockets.send(sv[0], "X".getBytes(), Sockets.MSG_OOB);
        Sockets.send(sv[0], "def".getBytes(), 0);
        assertTrue(Sockets.peekQueue(sv[1], Sockets.SOCK_STREAM, false, 0).urgentMark(), "mark in the middle");

        int[] head = pair(Sockets.SOCK_STREAM);
        Sockets.send(head[0], "X".getBytes(), Sockets.MSG_OOB);
        Sockets.send(head[0], "def".getBytes(), 0);
        assertTrue(Sockets.peekQueue(head[1], Sockets.SOCK_STREAM, false, 0).urgentMark(), "mark at the head");
    }
}
