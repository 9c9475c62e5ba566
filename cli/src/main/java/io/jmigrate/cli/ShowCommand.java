package io.jmigrate.cli;

import io.jmigrate.engine.image.ImageJson;
import io.jmigrate.engine.image.ImageSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "show", mixinStandardHelpOptions = true,
        description = {"Print an images directory as JSON a person can read (addresses in hex, no page data).", ""},
        footer = {"", "Example:", "  jmigrate show -D /tmp/img | less"})
final class ShowCommand implements Callable<Integer> {
    @Option(names = {"-D", "--images-dir"}, required = true, paramLabel = "DIR", description = "images written by dump")
    Path dir;

    @Override
    public Integer call() {
        System.out.println(ImageJson.render(ImageSet.open(dir)));
        return 0;
    }
}
