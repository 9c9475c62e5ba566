package io.jmigrate.engine.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FdInfoTest {
    private static FdInfo kitchen(int fd) {
        return FdInfo.parse(Samples.text("kitchen/3695/fdinfo/" + fd));
    }

    @Test
    void regularFileAtAPosition() {
        FdInfo passwd = kitchen(5);
        assertEquals(5, passwd.pos());
        assertEquals(02100000, passwd.flags());                    // O_CLOEXEC | O_LARGEFILE, printed in octal
        assertEquals(FdInfo.O_RDONLY, passwd.accessMode());
        assertEquals(27, passwd.mntId());
        assertEquals(739, passwd.ino());
        assertEquals(List.of(), List.copyOf(passwd.fields().keySet()));
        assertEquals(4, passwd.lines().size());
    }

    @Test
    void eventfd() {
        FdInfo eventfd = kitchen(6);
        assertEquals(04002, eventfd.flags());                      // O_NONBLOCK | O_RDWR
        assertEquals(FdInfo.O_RDWR, eventfd.accessMode());
        assertEquals("2a", eventfd.field("eventfd-count"));
        assertEquals(42, Long.parseLong(eventfd.field("eventfd-count"), 16));
        assertEquals("0", eventfd.field("eventfd-semaphore"));
    }

    @Test
    void timerfdLinesWithoutTabs() {
        FdInfo timerfd = kitchen(7);
        assertEquals("1", timerfd.field("clockid"));
        assertEquals("00", timerfd.field("settime flags"));
        assertEquals("(3600, 0)", timerfd.field("it_interval"));
        assertTrue(timerfd.field("it_value").startsWith("(359"), timerfd.field("it_value"));
    }

    @Test
    void repeatedRecordsAreInTheLines() {
        List<String> watches = kitchen(8).linesStartingWith("inotify wd:");
        assertEquals(1, watches.size());
        assertTrue(watches.getFirst().contains(" mask:300 "), watches.getFirst());

        FdInfo epoll = kitchen(10);
        List<String> targets = epoll.linesStartingWith("tfd:");
        assertEquals(1, targets.size());
        assertTrue(targets.getFirst().matches("tfd: +6 events: +19 data: +1234 .*"), targets.getFirst());
        assertTrue(epoll.field("tfd").startsWith("6 events:"));
    }

    @Test
    void userfaultfdAndSignalfd() {
        FdInfo uffd = kitchen(4);
        assertEquals(02004000, uffd.flags());                      // O_CLOEXEC | O_NONBLOCK
        assertEquals("aa:80000000:80000000000001ff", uffd.field("API"));
        assertEquals("0000000000000200", kitchen(9).field("sigmask"));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
    void everyRecordedDescriptorParses(int fd) {
        FdInfo info = kitchen(fd);
        assertTrue(info.lines().getFirst().startsWith("pos:"));
        assertTrue(info.mntId() > 0);
        assertTrue(info.ino() > 0);
    }

    @Test
    void rejectsIncompleteOrMalformedText() {
        assertThrows(ProcFormatException.class, () -> FdInfo.parse("mnt_id:\t27\n"));
        assertThrows(ProcFormatException.class, () -> FdInfo.parse("pos:\t0\nflags:\t0198\n"));
        FdInfo old = FdInfo.parse("pos:\t0\nflags:\t02\n");
        assertEquals(-1, old.mntId());
        assertEquals(-1, old.ino());
    }
}
