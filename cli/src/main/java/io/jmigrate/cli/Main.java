package io.jmigrate.cli;

import io.jmigrate.engine.sys.ErrnoException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code jmigrate} command. */
@Command(name = "jmigrate",
        mixinStandardHelpOptions = true,
        versionProvider = Main.VersionProvider.class,
        description = {
                "Checkpoint a running Linux process and restore it, same PID, memory, registers and files.",
                "",
                "Typical use:",
                "  jmigrate check                         what this kernel offers",
                "  jmigrate dump -t 4242 -D /tmp/img      freeze PID 4242, write images, kill it",
                "  jmigrate restore -D /tmp/img           bring it back (prints the PID)",
                "  jmigrate show -D /tmp/img              the images as JSON",
                "  jmigrate demo                          all of the above on a bundled workload",
                ""},
        subcommands = {DumpCommand.class, PreDumpCommand.class, RestoreCommand.class, ShowCommand.class, CheckCommand.class,
                DemoCommand.class, BenchCommand.class, CertsCommand.class, PageServerCommand.class,
                SendImagesCommand.class, BenchTransportCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    public static int execute(String... args) {
        // Processes we kill (dump) or create (restore) re-parent to us rather than to a PID 1 that may not reap
        // them: a zombie would keep its PID, and the next restore of that PID would fail.
        io.jmigrate.engine.sys.Prctl.becomeChildSubreaper();
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("jmigrate: " + oneLine(ex));
            if (System.getenv("JMIGRATE_DEBUG") != null) ex.printStackTrace(commandLine.getErr());
            return 1;
        });
        // A mistake on the command line is one line too, naming the help to read (picocli would print the usage).
        cli.setParameterExceptionHandler((ex, arguments) -> {
            CommandLine command = ex.getCommandLine();
            String suggest = ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()
                    ? "; did you mean " + String.join(" or ", u.getSuggestions()) + "?" : "";
            command.getErr().println("jmigrate: " + oneLine(ex) + suggest + " (see '"
                    + command.getCommandSpec().qualifiedName() + " --help')");
            return command.getCommandSpec().exitCodeOnInvalidInput();
        });
        return cli.execute(args);
    }

    static String oneLine(Throwable ex) {
        String message = ex.getMessage();
        if (message == null || message.isBlank()) message = ex.getClass().getSimpleName();
        if (ex instanceof ErrnoException) message = "system call failed: " + message;
        return message.replace('\n', ' ');
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"jmigrate " + io.jmigrate.engine.Version.VERSION};
        }
    }
}
