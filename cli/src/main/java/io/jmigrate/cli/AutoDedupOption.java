package io.jmigrate.cli;

import io.jmigrate.engine.image.AutoDedup;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** dump and pre-dump --auto-dedup: after the new set is committed, drop from the older sets what it holds. */
final class AutoDedupOption {
    @Option(names = "--auto-dedup",
            description = "after writing this set, punch the pages it (or a newer round) holds out of the older"
                    + " pre-dumps of the chain (local sets only); restore then needs the newest set of the chain")
    boolean enabled;

    /** Refuses, before anything is touched, what cannot be deduplicated here. */
    void check(PageServerTarget target) {
        if (enabled && target.networked())
            throw new IllegalArgumentException("--auto-dedup works on local image sets only: the page server holds the"
                    + " chain of --page-server rounds");
    }

    /** Runs after a successful local dump; a dedup failure is a warning, the new set stays complete. */
    void afterCommit(Path newest, String command) {
        if (!enabled) return;
        try {
            AutoDedup.run(newest, m -> System.err.println(command + ": " + m));
        } catch (RuntimeException e) {      // the new set is committed: the command has succeeded whatever happens here
            System.err.println(command + ": warning: --auto-dedup failed, the older sets are valid: " + e.getMessage());
        }
    }
}
