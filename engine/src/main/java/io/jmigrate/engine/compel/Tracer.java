package io.jmigrate.engine.compel;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Owns the one platform thread that makes every ptrace call. The kernel binds a tracee to the thread that
 * attached it, so dump and restore hand their whole pipeline to this thread rather than individual calls.
 */
public final class Tracer implements AutoCloseable {
    private final ExecutorService thread = Executors.newSingleThreadExecutor(
            runnable -> Thread.ofPlatform().name("jmigrate-tracer").daemon(true).unstarted(runnable));

    /** Runs {@code work} on the tracer thread and returns its result; its exceptions propagate unchanged. */
    public <T> T call(Callable<T> work) {
        Future<T> future = thread.submit(work);
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the tracer was working", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) throw re;
            if (cause instanceof Error err) throw err;
            throw new IllegalStateException(cause);
        }
    }

    @Override
    public void close() {
        thread.shutdown();
    }
}
