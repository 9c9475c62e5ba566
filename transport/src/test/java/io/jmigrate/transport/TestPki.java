package io.jmigrate.transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A cluster CA and certificates for "server" (127.0.0.1 and localhost, or the addresses given) and "client" in a
 * directory, valid for a day: what every test that speaks TLS starts from (shared with the page-server and cli
 * tests through this module's test-jar).
 */
public final class TestPki {
    public final Path dir;

    public TestPki(Path dir) {
        this(dir, "127.0.0.1", "localhost");
    }

    public TestPki(Path dir, String... serverAddresses) {
        this.dir = dir;
        Certificates.initCa(dir, "jmigrate test CA", Duration.ofDays(1));
        Certificates.issue(dir, "server", List.of(serverAddresses), Duration.ofDays(1));
        Certificates.issue(dir, "client", List.of(), Duration.ofDays(1));
    }

    public TlsSettings server(TlsSettings.Provider p) { return TlsSettings.fromDirectory(dir, "server", p); }
    public TlsSettings client(TlsSettings.Provider p) { return TlsSettings.fromDirectory(dir, "client", p); }

    /** A client with this PKI's client certificate, TLS engine chosen as by default. */
    public TransportClient newClient() { return TransportClient.tls(client(TlsSettings.Provider.AUTO), "client"); }
}
