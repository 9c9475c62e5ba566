package io.jmigrate.cli;

import io.jmigrate.transport.Certificates;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "certs", mixinStandardHelpOptions = true,
        description = {"Make the cluster's certificates: one CA, then a key and certificate per host.",
                "Every host needs ca.crt and its own NAME.crt and NAME.key; keep ca.key on one machine.", ""},
        subcommands = {CertsCommand.Init.class, CertsCommand.Issue.class},
        footer = {"", "Example:", "  jmigrate certs init --certs /etc/jmigrate/certs",
                "  jmigrate certs issue --host node2 --alt 10.0.0.2 --certs /etc/jmigrate/certs"})
final class CertsCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = {"Create a new cluster CA (ca.crt, ca.key; mode 0600) in the certificate directory.", ""})
    static final class Init implements Callable<Integer> {
        @Option(names = "--certs", paramLabel = "DIR", defaultValue = "${env:JMIGRATE_CERTS:-" + TlsOptions.DEFAULT_CERTS + "}",
                description = "certificate directory, default $JMIGRATE_CERTS or " + TlsOptions.DEFAULT_CERTS)
        Path dir;

        @Option(names = "--name", defaultValue = "jmigrate cluster CA", description = "the CA's common name")
        String name;

        @Option(names = "--days", defaultValue = "3650", description = "validity in days (default 3650)")
        int days;

        @Override
        public Integer call() {
            var cert = Certificates.initCa(dir, name, Duration.ofDays(days));
            System.err.println("created CA '" + name + "' in " + dir + " (valid until " + cert.getNotAfter().toInstant() + ")");
            return 0;
        }
    }

    @Command(name = "issue", mixinStandardHelpOptions = true,
            description = {"Issue a key and certificate for a host (NAME.crt, NAME.key; mode 0600), signed by the CA.",
                    "The certificate names the host and every --alt name or address, and serves as server and",
                    "client certificate.", ""})
    static final class Issue implements Callable<Integer> {
        @Option(names = "--certs", paramLabel = "DIR", defaultValue = "${env:JMIGRATE_CERTS:-" + TlsOptions.DEFAULT_CERTS + "}",
                description = "certificate directory holding the CA, default $JMIGRATE_CERTS or " + TlsOptions.DEFAULT_CERTS)
        Path dir;

        @Option(names = "--host", required = true, paramLabel = "NAME", description = "host name (or IP address) the certificate is for")
        String host;

        @Option(names = "--alt", paramLabel = "NAME|ADDR", description = "another DNS name or IP address of the host (repeatable)")
        List<String> alt = new ArrayList<>();

        @Option(names = "--days", defaultValue = "825", description = "validity in days (default 825)")
        int days;

        @Override
        public Integer call() {
            Certificates.HostFiles f = Certificates.issue(dir, host, alt, Duration.ofDays(days));
            System.err.println("issued " + f.cert() + " and " + f.key() + " for " + host
                    + (alt.isEmpty() ? "" : " " + alt) + ", valid " + days + " days");
            return 0;
        }
    }
}
