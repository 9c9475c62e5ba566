package io.jmigrate.engine.proc;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /proc/PID/timers as kernel 6.18 printed it for four timers (SIGEV_NONE, SIGEV_THREAD_ID, NULL sigevent, SIGRTMIN+1). */
class PosixTimerInfoTest {
    private static final String RECORDED = """
            ID: 3
            signal: 10/0000000000001234
            notify: none/pid.5789
            ClockID: 1
            ID: 2
            signal: 10/0000000000001234
            notify: signal/tid.5790
            ClockID: 7
            ID: 1
            signal: 14/0000000000000000
            notify: signal/pid.5789
            ClockID: 0
            ID: 0
            signal: 35/ffff888100001234
            notify: signal/pid.5789
            ClockID: 1
            """;

    @Test
    void parsesEveryTimer() {
        List<PosixTimerInfo> timers = PosixTimerInfo.parse(RECORDED);
        assertEquals(List.of(
                new PosixTimerInfo(3, 10, 0x1234, PosixTimerInfo.SIGEV_NONE, 5789, 1),
                new PosixTimerInfo(2, 10, 0x1234, PosixTimerInfo.SIGEV_SIGNAL | PosixTimerInfo.SIGEV_THREAD_ID, 5790, 7),
                new PosixTimerInfo(1, 14, 0, PosixTimerInfo.SIGEV_SIGNAL, 5789, 0),
                new PosixTimerInfo(0, 35, 0xffff888100001234L, PosixTimerInfo.SIGEV_SIGNAL, 5789, 1)), timers);
        assertTrue(timers.get(1).threadTargeted());
    }

    @Test
    void emptyFileHasNoTimers() {
        assertEquals(List.of(), PosixTimerInfo.parse(""));
    }

    @Test
    void truncatedRecordIsRefused() {
        assertThrows(ProcFormatException.class, () -> PosixTimerInfo.parse("ID: 0\nsignal: 14/0000000000000000\n"));
        assertThrows(ProcFormatException.class, () -> PosixTimerInfo.parse("ID: 0\nsignal: 14/0\nnotify: bogus/pid.1\nClockID: 0\n"));
    }
}
