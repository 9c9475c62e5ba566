package io.jmigrate.engine.check;

import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.jmigrate.engine.check.KernelFeatures.*;
import static org.junit.jupiter.api.Assertions.*;

/** Facts known to hold on the development machine: kernel 6.18, root without CAP_SYS_RESOURCE, no soft-dirty. */
class KernelFeaturesTest {
    private static KernelFeatures features;

    @BeforeAll
    static void probeOnce() {
        features = KernelFeatures.probe();
        System.out.print(features.report());
    }

    private static Feature get(String name) {
        return features.feature(name).orElseThrow(() -> new AssertionError("no feature " + name + " in\n" + features.report()));
    }

    private static void assertAvailable(String name) {
        Feature f = get(name);
        assertTrue(f.available(), name + " unavailable: " + f.detail());
    }

    @Test
    void everyStandardFeatureIsReportedOnceInOrder() {
        assertEquals(List.of(KERNEL, PTRACE, PROCESS_VM_READV, PIDFD_OPEN, PIDFD_GETFD, CLONE3, CLONE3_SET_TID,
                        USERFAULTFD, UFFD_WP_ASYNC, PAGEMAP_SCAN, SOFT_DIRTY, TIME_NS, PR_SET_MM_MAP, CAP_SYS_RESOURCE, THP),
                features.features().stream().map(Feature::name).toList());
        for (Feature f : features.features()) assertFalse(f.detail().isBlank(), f.name() + " has no detail");
    }

    @Test
    void kernelReleaseIsTheRunningOne() throws Exception {
        assertAvailable(KERNEL);
        String release = Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        assertTrue(get(KERNEL).detail().startsWith(release + " "), get(KERNEL).detail());
        assertTrue(Probes.atLeast(release, 6, 7), "PAGEMAP_SCAN needs 6.7, running " + release);
    }

    @Test
    void ptraceSeizeInterruptReadsBothRegisterSets() {
        assertAvailable(PTRACE);
        Matcher m = Pattern.compile("NT_X86_XSTATE (\\d+) bytes").matcher(get(PTRACE).detail());
        assertTrue(m.find(), get(PTRACE).detail());
        int xstate = Integer.parseInt(m.group(1));
        assertTrue(xstate >= 576, "XSAVE area is at least legacy area + header, got " + xstate);
        assertTrue(get(PTRACE).detail().contains("NT_PRSTATUS 216 bytes"), get(PTRACE).detail());
    }

    @Test
    void childProcessFacilities() {
        assertAvailable(PROCESS_VM_READV);
        assertTrue(get(PROCESS_VM_READV).detail().contains("ELF header"), get(PROCESS_VM_READV).detail());
        assertAvailable(PIDFD_OPEN);
        assertAvailable(PIDFD_GETFD);
        assertTrue(get(PIDFD_GETFD).detail().contains("/dev/null"), get(PIDFD_GETFD).detail());
    }

    @Test
    void clone3ExistsAndSetTidIsUsableAsRoot() {
        assertAvailable(CLONE3);
        assertTrue(get(CLONE3).detail().contains("EINVAL"), get(CLONE3).detail());
        assertAvailable(CLONE3_SET_TID);
        assertTrue(get(CLONE3_SET_TID).detail().contains(">= 5.5"), get(CLONE3_SET_TID).detail());
        assertTrue(get(CLONE3_SET_TID).detail().contains("CAP_SYS_ADMIN present"), get(CLONE3_SET_TID).detail());
    }

    @Test
    void userfaultfdOffersAsyncWriteProtect() {
        assertAvailable(USERFAULTFD);
        List<String> offered = List.of(get(USERFAULTFD).detail().replaceFirst("^.*: ", "").split(" "));
        assertTrue(offered.containsAll(List.of("WP_ASYNC", "WP_UNPOPULATED", "PAGEFAULT_FLAG_WP")), offered.toString());
    }

    @Test
    void dirtyTrackingIsUffdWpAsyncBecauseSoftDirtyIsNotBuiltIn() {
        assertAvailable(UFFD_WP_ASYNC);
        assertAvailable(PAGEMAP_SCAN);
        assertTrue(get(PAGEMAP_SCAN).detail().contains("exactly it as WRITTEN"), get(PAGEMAP_SCAN).detail());
        Feature softDirty = get(SOFT_DIRTY);
        assertFalse(softDirty.available(), softDirty.detail());
        assertTrue(softDirty.detail().contains("bit 55 stayed clear"), softDirty.detail());
        assertTrue(softDirty.detail().contains("# CONFIG_MEM_SOFT_DIRTY is not set"), softDirty.detail());
        assertEquals(DirtyTracking.UFFD_WP_ASYNC, features.dirtyTracking());
        assertEquals("uffd-wp-async", features.dirtyTracking().label());
    }

    @Test
    void rootWithoutCapSysResource() {
        Feature cap = get(CAP_SYS_RESOURCE);
        assertFalse(cap.available(), cap.detail());
        assertTrue(cap.detail().contains("hard rlimits"), cap.detail());
    }

    @Test
    void restoreHelpers() {
        assertAvailable(PR_SET_MM_MAP);
        assertEquals("struct prctl_mm_map is 104 bytes", get(PR_SET_MM_MAP).detail());
        assertAvailable(TIME_NS);
        assertTrue(get(TIME_NS).detail().matches("time:\\[\\d+]"), get(TIME_NS).detail());
        assertAvailable(THP);
        assertTrue(get(THP).detail().startsWith("madvise"), get(THP).detail());
    }

    @Test
    void reportAndStructuredForm() {
        String report = features.report();
        for (Feature f : features.features()) assertTrue(report.contains(f.name()), f.name());
        assertTrue(report.lines().anyMatch(l -> l.startsWith("dirty tracking") && l.endsWith("uffd-wp-async")), report);
        assertEquals(features.features().size() + 2, report.lines().count());
        Map<String, Object> map = features.toMap();
        assertEquals("uffd-wp-async", map.get("dirtyTracking"));
        List<?> list = (List<?>) map.get("features");
        assertEquals(features.features().size(), list.size());
        assertEquals(Map.of("name", PTRACE, "available", true, "detail", get(PTRACE).detail()), list.get(1));
    }

    @Test
    void aFailingProbeNeverStopsTheOthers() {
        KernelFeatures mixed = KernelFeatures.run(List.of(
                Probe.of("throws-errno", () -> { throw new ErrnoException("ioctl(TEST)", Errno.EPERM); }),
                Probe.of(KERNEL, Probes::kernel),
                Probe.of("throws-error", () -> { throw new UnsatisfiedLinkError("libc has no frobnicate"); }),
                new Probe("reports-nothing", List::of),
                Probe.of(PTRACE, Probes::ptrace),
                Probe.of(CLONE3, Probes::clone3)));
        assertEquals(List.of("throws-errno", KERNEL, "throws-error", "reports-nothing", PTRACE, CLONE3),
                mixed.features().stream().map(Feature::name).toList());
        Feature errno = mixed.feature("throws-errno").orElseThrow();
        assertFalse(errno.available());
        assertTrue(errno.detail().contains("ioctl(TEST): EPERM"), errno.detail());
        assertFalse(mixed.available("throws-error"));
        assertTrue(mixed.feature("throws-error").orElseThrow().detail().contains("frobnicate"));
        assertFalse(mixed.available("reports-nothing"));
        assertTrue(mixed.available(KERNEL));
        assertTrue(mixed.available(PTRACE), mixed.report());
        assertTrue(mixed.available(CLONE3));
        assertFalse(mixed.available("never-probed"));
        assertEquals(DirtyTracking.FULL_COPY, mixed.dirtyTracking(), "nothing about dirty tracking was probed");
    }

    @Test
    void backendChoice() {
        assertEquals(DirtyTracking.UFFD_WP_ASYNC, DirtyTracking.choose(true, true, true));
        assertEquals(DirtyTracking.UFFD_WP_ASYNC, DirtyTracking.choose(true, true, false));
        assertEquals(DirtyTracking.SOFT_DIRTY, DirtyTracking.choose(true, false, true));
        assertEquals(DirtyTracking.SOFT_DIRTY, DirtyTracking.choose(false, true, true));
        assertEquals(DirtyTracking.FULL_COPY, DirtyTracking.choose(true, false, false));
        assertEquals(DirtyTracking.FULL_COPY, DirtyTracking.choose(false, false, false));
    }

    @Test
    void checkPackageStaysOffTheForeignApi() throws Exception {
        Path dir = Path.of("src/main/java/io/jmigrate/engine/check");
        assertTrue(Files.isDirectory(dir), "run from the engine module: " + dir.toAbsolutePath());
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                assertFalse(Files.readString(p).contains("java.lang.foreign"), p + " uses java.lang.foreign outside sys");
            }
        }
    }
}
