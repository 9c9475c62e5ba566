package io.jmigrate.engine.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * posix_spawn(3) from the JVM. A process started this way is our child but not the JDK's: no JDK reaper thread
 * waits for it, so it can be ptraced, and we decide when it is reaped (see {@link Reaper}).
 */
public final class Spawn {
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;
    private static final int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0100, O_APPEND = 02000;
    private static final long OPAQUE_SIZE = 1024;   // posix_spawnattr_t is 336 bytes, file actions 80 in glibc

    private static final MethodHandle SPAWN = Libc.downcall("posix_spawn",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle ATTR_INIT = Libc.downcall("posix_spawnattr_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ATTR_SETFLAGS = Libc.downcall("posix_spawnattr_setflags",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_SHORT));
    private static final MethodHandle ATTR_SETSIGMASK = Libc.downcall("posix_spawnattr_setsigmask",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ATTR_SETSIGDEFAULT = Libc.downcall("posix_spawnattr_setsigdefault",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ACTIONS_INIT = Libc.downcall("posix_spawn_file_actions_init",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ACTIONS_ADDOPEN = Libc.downcall("posix_spawn_file_actions_addopen",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACTIONS_ADDCLOSEFROM = Libc.downcall("posix_spawn_file_actions_addclosefrom_np",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle ACTIONS_ADDCHDIR = Libc.downcall("posix_spawn_file_actions_addchdir_np",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));

    /** What to start: argv[0] is an absolute path; stdio goes to files (/dev/null by default). */
    public record Request(List<String> argv, Map<String, String> env, Path cwd, Path stdin, Path stdout,
                          Path stderr, boolean newSession) {
        public static Request of(List<String> argv) {
            Path devNull = Path.of("/dev/null");
            return new Request(argv, System.getenv(), null, devNull, devNull, devNull, true);
        }

        public Request withOutput(Path out) { return new Request(argv, env, cwd, stdin, out, out, newSession); }
        public Request withCwd(Path dir) { return new Request(argv, env, dir, stdin, stdout, stderr, newSession); }
        public Request withEnv(Map<String, String> e) { return new Request(argv, e, cwd, stdin, stdout, stderr, newSession); }
    }

    private Spawn() {}

    public static int spawn(Request request) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = arena.allocate(OPAQUE_SIZE, 16);
            MemorySegment actions = arena.allocate(OPAQUE_SIZE, 16);
            check("posix_spawnattr_init", (int) ATTR_INIT.invokeExact(attr));
            short flags = (short) (POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (request.newSession() ? POSIX_SPAWN_SETSID : 0));
            check("posix_spawnattr_setflags", (int) ATTR_SETFLAGS.invokeExact(attr, flags));
            MemorySegment emptySet = arena.allocate(128, 8);       // sigset_t: nothing blocked in the child
            check("posix_spawnattr_setsigmask", (int) ATTR_SETSIGMASK.invokeExact(attr, emptySet));
            MemorySegment allSignals = arena.allocate(128, 8);     // every signal back to its default action
            allSignals.fill((byte) 0xff);
            check("posix_spawnattr_setsigdefault", (int) ATTR_SETSIGDEFAULT.invokeExact(attr, allSignals));

            check("posix_spawn_file_actions_init", (int) ACTIONS_INIT.invokeExact(actions));
            addOpen(arena, actions, 0, request.stdin(), O_RDONLY);
            addOpen(arena, actions, 1, request.stdout(), O_WRONLY | O_CREAT | O_APPEND);
            addOpen(arena, actions, 2, request.stderr(), O_WRONLY | O_CREAT | O_APPEND);
            check("posix_spawn_file_actions_addclosefrom_np", (int) ACTIONS_ADDCLOSEFROM.invokeExact(actions, 3));
            if (request.cwd() != null) {
                check("posix_spawn_file_actions_addchdir_np",
                        (int) ACTIONS_ADDCHDIR.invokeExact(actions, arena.allocateFrom(request.cwd().toString())));
            }

            MemorySegment argv = cStringArray(arena, request.argv());
            MemorySegment envp = cStringArray(arena, request.env().entrySet().stream()
                    .map(e -> e.getKey() + "=" + e.getValue()).toList());
            MemorySegment pid = arena.allocate(JAVA_INT);
            String path = request.argv().getFirst();
            int err = (int) SPAWN.invokeExact(pid, arena.allocateFrom(path), actions, attr, argv, envp);
            if (err != 0) throw new ErrnoException("posix_spawn(" + path + ")", err);
            return pid.get(JAVA_INT, 0);
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("posix_spawn downcall failed", t);
        }
    }

    private static void addOpen(Arena arena, MemorySegment actions, int fd, Path path, int flags) throws Throwable {
        check("posix_spawn_file_actions_addopen",
                (int) ACTIONS_ADDOPEN.invokeExact(actions, fd, arena.allocateFrom(path.toString()), flags, 0644));
    }

    private static MemorySegment cStringArray(Arena arena, List<String> strings) {
        MemorySegment array = arena.allocate(ADDRESS, strings.size() + 1L);
        for (int i = 0; i < strings.size(); i++) array.setAtIndex(ADDRESS, i, arena.allocateFrom(strings.get(i)));
        array.setAtIndex(ADDRESS, strings.size(), MemorySegment.NULL);
        return array;
    }

    private static void check(String what, int err) {
        if (err != 0) throw new ErrnoException(what, err);
    }

    static { assert ValueLayout.ADDRESS.byteSize() == 8; }
}
