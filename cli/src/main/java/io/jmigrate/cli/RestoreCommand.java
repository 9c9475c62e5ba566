package io.jmigrate.cli;

import io.jmigrate.engine.restore.RestoreOptions;
import io.jmigrate.engine.restore.RestoreResult;
import io.jmigrate.engine.restore.Restorer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "restore", mixinStandardHelpOptions = true,
        description = {
                "Recreate a dumped process tree from its images, every process and thread",
                "with its PID, running detached; prints the root's PID.",
                "",
                "Fails, changing nothing, if a PID is in use, a file the process had open",
                "is missing, or the images are incomplete, corrupt, from another version",
                "of jmigrate or from a failed dump. A restore that fails half way kills",
                "what it had made: nothing half-restored is left running.",
                ""},
        footer = {"", "Example:", "  pid=$(jmigrate restore -D /tmp/img)"})
final class RestoreCommand implements Callable<Integer> {
    @Option(names = {"-D", "--images-dir"}, required = true, paramLabel = "DIR", description = "images written by dump")
    Path dir;

    @Option(names = {"-v", "--verbose"}, description = "print progress to stderr")
    boolean verbose;

    @Override
    public Integer call() {
        RestoreResult result = new Restorer().restore(RestoreOptions.of(dir)
                .withProgress(verbose ? m -> System.err.println("restore: " + m) : m -> { }));
        result.warnings().forEach(w -> System.err.println("jmigrate: warning: " + w));
        System.out.println(result.pid());
        return 0;
    }
}
