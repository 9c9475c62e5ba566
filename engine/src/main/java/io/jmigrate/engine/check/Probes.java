package io.jmigrate.engine.check;

import io.jmigrate.engine.sys.Clone3;
import io.jmigrate.engine.sys.Errno;
import io.jmigrate.engine.sys.ErrnoException;
import io.jmigrate.engine.sys.Files;
import io.jmigrate.engine.sys.Mman;
import io.jmigrate.engine.sys.PagemapScan;
import io.jmigrate.engine.sys.PidFd;
import io.jmigrate.engine.sys.Prctl;
import io.jmigrate.engine.sys.ProcessVm;
import io.jmigrate.engine.sys.Ptrace;
import io.jmigrate.engine.sys.Reaper;
import io.jmigrate.engine.sys.Spawn;
import io.jmigrate.engine.sys.Uffd;
import io.jmigrate.engine.sys.UserRegs;
import io.jmigrate.engine.sys.Wait;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

import static io.jmigrate.engine.check.KernelFeatures.*;

/** The probes behind {@link KernelFeatures}: each tries the facility for real and says what it saw. */
final class Probes {
    static final int CAP_SYS_ADMIN_BIT = 21, CAP_SYS_RESOURCE_BIT = 24;
    /** sizeof(struct prctl_mm_map) on x86_64: 11 u64 fields, the auxv pointer, auxv_size and exe_fd. */
    static final int PRCTL_MM_MAP_SIZE = 104;
    static final int PROBE_PAGES = 16;
    static final int WRITTEN_PAGE = 5;
    private static final long PM_SOFT_DIRTY = 1L << 55, PM_PRESENT = 1L << 63;
    private static final Duration PTRACE_TIMEOUT = Duration.ofSeconds(10), REAP_TIMEOUT = Duration.ofSeconds(5);
    private static final List<String> SLEEPER = List.of("/bin/sleep", "30");

    private Probes() {}

    static Feature kernel() throws IOException {
        return Feature.yes(KERNEL, kernelRelease() + " " + System.getProperty("os.arch"));
    }

    /**
     * PTRACE_SEIZE + PTRACE_INTERRUPT on a spawned /bin/sleep, then both register sets. The kernel ties a tracee
     * to the thread that seized it, so the whole sequence runs on one platform thread of its own.
     */
    static Feature ptrace() throws Exception {
        CompletableFuture<Feature> result = new CompletableFuture<>();
        Thread.ofPlatform().name("jmigrate-check-ptrace").daemon().start(() -> {
            try {
                result.complete(ptraceOnThisThread());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        try {
            return result.get(PTRACE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return Feature.no(PTRACE, "no answer within " + PTRACE_TIMEOUT.toSeconds() + " s");
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }

    private static Feature ptraceOnThisThread() {
        int pid = Spawn.spawn(Spawn.Request.of(SLEEPER));
        try {
            Ptrace.seize(pid, 0);
            Ptrace.interrupt(pid);
            Wait.Status status = Wait.waitpid(pid, 0);
            if (!status.stopped() || status.event() != Ptrace.EVENT_STOP) {
                return Feature.no(PTRACE, "PTRACE_INTERRUPT did not give a PTRACE_EVENT_STOP: " + status);
            }
            UserRegs regs = Ptrace.getRegs(pid);
            byte[] xstate = Ptrace.getXstate(pid);
            Ptrace.detach(pid, 0);
            return Feature.yes(PTRACE, "seize+interrupt stopped /bin/sleep at rip 0x" + Long.toHexString(regs.rip())
                    + "; NT_PRSTATUS " + UserRegs.SIZE + " bytes; NT_X86_XSTATE " + xstate.length + " bytes");
        } finally {
            Reaper.killAndReap(pid, REAP_TIMEOUT);
        }
    }

    /** Reads the ELF header of a spawned /bin/sleep out of its address space. */
    static Feature processVmReadv() throws IOException {
        int pid = Spawn.spawn(Spawn.Request.of(SLEEPER));
        try {
            Mapping first = firstFileMapping(pid);
            byte[] header = ProcessVm.read(pid, first.start(), 64);
            boolean elf = header.length >= 4 && header[0] == 0x7f && header[1] == 'E' && header[2] == 'L' && header[3] == 'F';
            if (!elf) {
                return Feature.no(PROCESS_VM_READV, "read " + header.length + " bytes at 0x"
                        + Long.toHexString(first.start()) + " of " + first.path() + " but found no ELF header");
            }
            return Feature.yes(PROCESS_VM_READV, "read the ELF header of " + first.path() + " at 0x"
                    + Long.toHexString(first.start()) + " in a spawned child");
        } finally {
            Reaper.killAndReap(pid, REAP_TIMEOUT);
        }
    }

    /** pidfd_open on a spawned child, then pidfd_getfd of its stdin (/dev/null) into our table. */
    static List<Feature> pidfd() throws IOException {
        int pid = Spawn.spawn(Spawn.Request.of(SLEEPER));
        int pidfd = -1;
        int stolen = -1;
        try {
            try {
                pidfd = PidFd.open(pid);
                PidFd.sendSignal(pidfd, 0);
            } catch (ErrnoException e) {
                return List.of(Feature.no(PIDFD_OPEN, e.getMessage()),
                        Feature.no(PIDFD_GETFD, "not probed: needs pidfd_open"));
            }
            Feature open = Feature.yes(PIDFD_OPEN, "pidfd for a spawned child; pidfd_send_signal(0) accepted");
            try {
                stolen = PidFd.getFd(pidfd, 0);
            } catch (ErrnoException e) {
                return List.of(open, Feature.no(PIDFD_GETFD, e.getMessage()));
            }
            Path target = java.nio.file.Files.readSymbolicLink(Path.of("/proc/self/fd/" + stolen));
            Feature getfd = target.toString().equals("/dev/null")
                    ? Feature.yes(PIDFD_GETFD, "duplicated the child's fd 0 (/dev/null) as our fd " + stolen)
                    : Feature.no(PIDFD_GETFD, "the child's fd 0 is /dev/null but the duplicate points at " + target);
            return List.of(open, getfd);
        } finally {
            Files.closeQuietly(stolen);
            Files.closeQuietly(pidfd);
            Reaper.killAndReap(pid, REAP_TIMEOUT);
        }
    }

    /** clone3(NULL, 0) can never create a task: EINVAL means the call exists, ENOSYS that it does not. */
    static Feature clone3() {
        int errno = Clone3.errnoForEmptyArgs();
        if (errno == Errno.EINVAL) return Feature.yes(CLONE3, "clone3(NULL, 0) fails EINVAL: the system call exists");
        return Feature.no(CLONE3, "clone3(NULL, 0) fails " + Errno.name(errno)
                + (errno == Errno.ENOSYS ? ": no clone3 (kernel < 5.3 or filtered)" : ", expected EINVAL"));
    }

    /** set_tid in clone_args (same-PID restore) needs Linux 5.5 and CAP_SYS_ADMIN over the PID namespace. */
    static Feature clone3SetTid() throws IOException {
        String release = kernelRelease();
        boolean recent = atLeast(release, 5, 5);
        long capEff = capEff();
        boolean admin = hasCap(capEff, CAP_SYS_ADMIN_BIT);
        String detail = "kernel " + release + (recent ? " >= 5.5" : " < 5.5") + "; CAP_SYS_ADMIN "
                + (admin ? "present" : "absent") + " (CapEff 0x" + Long.toHexString(capEff) + ")";
        return new Feature(CLONE3_SET_TID, recent && admin, detail);
    }

    /** A fresh userfaultfd's UFFDIO_API with no features requested answers with all the kernel offers. */
    static Feature userfaultfd() {
        int fd = -1;
        try {
            boolean userModeOnly = false;
            try {
                fd = Uffd.userfaultfd(Uffd.O_CLOEXEC | Uffd.O_NONBLOCK);
            } catch (ErrnoException e) {
                if (!e.is(Errno.EPERM)) throw e;
                fd = Uffd.userfaultfd(Uffd.O_CLOEXEC | Uffd.O_NONBLOCK | Uffd.UFFD_USER_MODE_ONLY);
                userModeOnly = true;
            }
            long offered = Uffd.api(fd, 0);
            return Feature.yes(USERFAULTFD, (userModeOnly ? "user-mode-only (vm.unprivileged_userfaultfd); " : "")
                    + "features 0x" + Long.toHexString(offered) + ": " + String.join(" ", Uffd.featureNames(offered)));
        } catch (ErrnoException e) {
            return Feature.no(USERFAULTFD, e.getMessage());
        } finally {
            Files.closeQuietly(fd);
        }
    }

    /** Features a fresh userfaultfd offers. */
    static long offeredUffdFeatures() {
        int fd = WriteProtectedRegion.openUserfaultfd();
        try {
            return Uffd.api(fd, 0);
        } finally {
            Files.closeQuietly(fd);
        }
    }

    /**
     * WP_ASYNC and WP_UNPOPULATED offered, and for real: register a small anonymous mapping of ours in WP mode,
     * write-protect it, then write to a protected page, which the kernel must resolve without a fault handler.
     */
    static Feature uffdWpAsync() {
        long offered = offeredUffdFeatures();
        long missing = WriteProtectedRegion.REQUIRED_FEATURES & ~offered;
        if (missing != 0) return Feature.no(UFFD_WP_ASYNC, "not offered: " + String.join(" ", Uffd.featureNames(missing)));
        try (WriteProtectedRegion region = WriteProtectedRegion.create(PROBE_PAGES, false)) {
            long t0 = System.nanoTime();
            region.protectAll();
            long micros = (System.nanoTime() - t0) / 1000;
            region.write(WRITTEN_PAGE, (byte) 7);
            if (Mman.getByte(region.page(WRITTEN_PAGE)) != 7) {
                return Feature.no(UFFD_WP_ASYNC, "a write to a write-protected page did not stick");
            }
            return Feature.yes(UFFD_WP_ASYNC, "WP_ASYNC+WP_UNPOPULATED enabled; " + PROBE_PAGES
                    + " unpopulated pages registered WP (ioctls " + String.join(" ", Uffd.ioctlNames(region.ioctls()))
                    + ") and write-protected in " + micros + " µs; a write to a protected page went through");
        }
    }

    /**
     * PAGEMAP_SCAN over a populated uffd-wp async mapping of ours after writing one page: exactly that page must
     * come back as written, and a second scan must find nothing (the first re-protected it). Without uffd-wp the
     * ioctl itself is still tried, with a PAGE_IS_PRESENT scan.
     */
    static Feature pagemapScan() {
        WriteProtectedRegion region;
        try {
            region = WriteProtectedRegion.create(PROBE_PAGES, true);
        } catch (RuntimeException e) {
            return presentOnlyScan("written-page tracking not verified: uffd-wp async setup failed: " + e.getMessage());
        }
        int pagemap = -1;
        try (region; PagemapScan.Scanner scanner = new PagemapScan.Scanner(PROBE_PAGES)) {
            pagemap = Files.open("/proc/self/pagemap", Files.O_RDONLY | Files.O_CLOEXEC);
            region.protectAll();
            region.write(WRITTEN_PAGE, (byte) 2);
            long flags = PagemapScan.PM_SCAN_WP_MATCHING | PagemapScan.PM_SCAN_CHECK_WPASYNC;
            long t0 = System.nanoTime();
            int n = scanner.scan(pagemap, region.base(), region.end(), flags, PagemapScan.PAGE_IS_WRITTEN, 0,
                    PagemapScan.PAGE_IS_WRITTEN);
            long micros = (System.nanoTime() - t0) / 1000;
            String first = regions(scanner, region.base());
            boolean exact = n == 1 && scanner.start(0) == region.page(WRITTEN_PAGE)
                    && scanner.end(0) == region.page(WRITTEN_PAGE + 1)
                    && scanner.categories(0) == PagemapScan.PAGE_IS_WRITTEN;
            if (!exact) {
                return Feature.no(PAGEMAP_SCAN, "wrote page " + WRITTEN_PAGE + " of " + PROBE_PAGES
                        + " but the scan reported " + first);
            }
            int again = scanner.scan(pagemap, region.base(), region.end(), flags, PagemapScan.PAGE_IS_WRITTEN, 0,
                    PagemapScan.PAGE_IS_WRITTEN);
            if (again != 0) {
                return Feature.no(PAGEMAP_SCAN, "the first scan did not re-protect: the second reported "
                        + regions(scanner, region.base()));
            }
            return Feature.yes(PAGEMAP_SCAN, "wrote page " + WRITTEN_PAGE + " of " + PROBE_PAGES
                    + ": the scan reported exactly it as WRITTEN in " + micros + " µs and re-protected it; rescan found none");
        } catch (ErrnoException e) {
            return Feature.no(PAGEMAP_SCAN, e.getMessage() + (e.is(Errno.ENOTTY) ? " (kernel < 6.7)" : ""));
        } finally {
            Files.closeQuietly(pagemap);
        }
    }

    private static Feature presentOnlyScan(String why) {
        int pages = 4;
        long len = pages * Mman.PAGE_SIZE;
        long base = Mman.mmap(0, len, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        int pagemap = -1;
        try (PagemapScan.Scanner scanner = new PagemapScan.Scanner(4)) {
            Mman.fill(base, len, (byte) 1);
            pagemap = Files.open("/proc/self/pagemap", Files.O_RDONLY | Files.O_CLOEXEC);
            scanner.scan(pagemap, base, base + len, 0, PagemapScan.PAGE_IS_PRESENT, 0, PagemapScan.PAGE_IS_PRESENT);
            return new Feature(PAGEMAP_SCAN, scanner.totalPages() == pages, "the ioctl found " + scanner.totalPages()
                    + " of " + pages + " touched pages PRESENT; " + why);
        } catch (ErrnoException e) {
            return Feature.no(PAGEMAP_SCAN, e.getMessage() + (e.is(Errno.ENOTTY) ? " (kernel < 6.7)" : "") + "; " + why);
        } finally {
            Files.closeQuietly(pagemap);
            Mman.munmap(base, len);
        }
    }

    /**
     * clear_refs "4" on ourselves, then a write to a fresh page must set pagemap bit 55 (which the clear dropped).
     * Without CONFIG_MEM_SOFT_DIRTY the write succeeds but the bit never appears.
     */
    static Feature softDirty() throws IOException {
        long page = Mman.mmap(0, Mman.PAGE_SIZE, Mman.PROT_READ | Mman.PROT_WRITE,
                Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            java.nio.file.Files.writeString(Path.of("/proc/self/clear_refs"), "4");
            long before = pagemapEntry(pagemap, page);
            Mman.putByte(page, (byte) 1);
            long after = pagemapEntry(pagemap, page);
            if ((after & PM_PRESENT) == 0) return Feature.no(SOFT_DIRTY, "the written page is not present in pagemap");
            if ((after & PM_SOFT_DIRTY) != 0 && (before & PM_SOFT_DIRTY) == 0) {
                return Feature.yes(SOFT_DIRTY, "clear_refs \"4\" cleared pagemap bit 55 and a write set it again");
            }
            if ((before & PM_SOFT_DIRTY) != 0) {
                return Feature.no(SOFT_DIRTY, "pagemap bit 55 was still set after clear_refs \"4\": clearing does not work");
            }
            String config = kernelConfig("CONFIG_MEM_SOFT_DIRTY").map(line -> " (kernel config: " + line + ")").orElse("");
            return Feature.no(SOFT_DIRTY, "clear_refs \"4\" accepted but pagemap bit 55 stayed clear after a write to a"
                    + " fresh page" + config);
        } finally {
            Mman.munmap(page, Mman.PAGE_SIZE);
        }
    }

    static Feature timeNamespace() throws IOException {
        Path ns = Path.of("/proc/self/ns/time");
        if (!java.nio.file.Files.exists(ns, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return Feature.no(TIME_NS, "no /proc/self/ns/time (kernel < 5.6 or CONFIG_TIME_NS unset)");
        }
        return Feature.yes(TIME_NS, java.nio.file.Files.readSymbolicLink(ns).toString());
    }

    static Feature prSetMmMap() {
        try {
            int size = Prctl.mmMapSize();
            if (size != PRCTL_MM_MAP_SIZE) {
                return Feature.no(PR_SET_MM_MAP, "the kernel expects a " + size + "-byte struct prctl_mm_map, jmigrate writes "
                        + PRCTL_MM_MAP_SIZE);
            }
            return Feature.yes(PR_SET_MM_MAP, "struct prctl_mm_map is " + size + " bytes");
        } catch (ErrnoException e) {
            return Feature.no(PR_SET_MM_MAP, e.getMessage() + (e.is(Errno.EINVAL) ? " (CONFIG_CHECKPOINT_RESTORE unset?)" : ""));
        }
    }

    static Feature capSysResource() throws IOException {
        long capEff = capEff();
        String caps = "CapEff 0x" + Long.toHexString(capEff);
        if (hasCap(capEff, CAP_SYS_RESOURCE_BIT)) {
            return Feature.yes(CAP_SYS_RESOURCE, "present (" + caps + "): hard rlimits can be raised to the image's");
        }
        return Feature.no(CAP_SYS_RESOURCE, "absent (" + caps + ", bit 24 clear): hard rlimits cannot be raised"
                + " above ours, so a process whose hard limits exceed the restorer's gets the restorer's");
    }

    static Feature transparentHugepages() throws IOException {
        Path dir = Path.of("/sys/kernel/mm/transparent_hugepage");
        Path enabled = dir.resolve("enabled");
        if (!java.nio.file.Files.exists(enabled)) return Feature.no(THP, "no " + enabled);
        String mode = selected(java.nio.file.Files.readString(enabled));
        String defrag = java.nio.file.Files.exists(dir.resolve("defrag"))
                ? selected(java.nio.file.Files.readString(dir.resolve("defrag"))) : "?";
        return new Feature(THP, !mode.equals("never"), mode + " (defrag " + defrag + ")");
    }

    // ---- helpers ----

    record Mapping(long start, String path) {}

    /**
     * The first mapping of {@code pid} at file offset 0 that is readable and backed by a file. Waits for one to
     * appear: posix_spawn returns as soon as exec has given the child its new, empty address space (that is when a
     * vfork parent is released), which can be before the ELF loader has mapped the program into it.
     */
    private static Mapping firstFileMapping(int pid) throws IOException {
        long deadline = System.nanoTime() + REAP_TIMEOUT.toNanos();
        while (true) {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
                String[] f = line.trim().split("\\s+", 6);
                if (f.length == 6 && f[1].startsWith("r") && Long.parseLong(f[2], 16) == 0 && f[5].startsWith("/")) {
                    return new Mapping(Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16), f[5]);
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("no readable file mapping in /proc/" + pid + "/maps after " + REAP_TIMEOUT);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
    }

    private static String regions(PagemapScan.Scanner scanner, long base) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < scanner.count(); i++) {
            out.add("pages " + (scanner.start(i) - base) / Mman.PAGE_SIZE + ".." + ((scanner.end(i) - base) / Mman.PAGE_SIZE - 1)
                    + " " + PagemapScan.categoryNames(scanner.categories(i)));
        }
        return scanner.count() + " region(s) " + out;
    }

    private static long pagemapEntry(FileChannel pagemap, long addr) throws IOException {
        ByteBuffer entry = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        long position = addr / Mman.PAGE_SIZE * 8;
        while (entry.hasRemaining()) {
            if (pagemap.read(entry, position + entry.position()) < 0) throw new IOException("short read of pagemap");
        }
        return entry.getLong(0);
    }

    static String kernelRelease() throws IOException {
        return java.nio.file.Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
    }

    /** True if the release's leading major.minor is at least the given one. */
    static boolean atLeast(String release, int major, int minor) {
        Matcher m = Pattern.compile("^(\\d+)\\.(\\d+)").matcher(release);
        if (!m.find()) return false;
        int ma = Integer.parseInt(m.group(1)), mi = Integer.parseInt(m.group(2));
        return ma > major || (ma == major && mi >= minor);
    }

    static long capEff() throws IOException {
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) return Long.parseUnsignedLong(line.substring(7).trim(), 16);
        }
        throw new IOException("no CapEff in /proc/self/status");
    }

    static boolean hasCap(long capEff, int cap) {
        return (capEff & (1L << cap)) != 0;
    }

    /** The line of /proc/config.gz that sets or unsets {@code key}, if the kernel exposes its config. */
    static Optional<String> kernelConfig(String key) {
        Path config = Path.of("/proc/config.gz");
        if (!java.nio.file.Files.isReadable(config)) return Optional.empty();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(java.nio.file.Files.newInputStream(config)), StandardCharsets.UTF_8))) {
            return in.lines().filter(l -> l.startsWith(key + "=") || l.equals("# " + key + " is not set")).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The bracketed choice of a sysfs "a [b] c" file. */
    private static String selected(String choices) {
        int open = choices.indexOf('['), close = choices.indexOf(']');
        return open >= 0 && close > open ? choices.substring(open + 1, close) : choices.trim();
    }
}
