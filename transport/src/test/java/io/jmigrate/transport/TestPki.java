package io.jmigrate.transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A cluster CA and certificates for "server" (127.0.0.1) and "client" in a temporary directory. */
final class TestPki {
    final Path dir;

    TestPki(Path dir) {
        this.dir = dir;
        Certificates.initCa(dir, "jmigrate test CA", Duration.ofDays(1));
        Certificates.issue(dir, "server", List.of("127.0.0.1", "localhost"), Duration.ofDays(1));
        Certificates.issue(dir, "client", List.of(), Duration.ofDays(1));
    }

    TlsSettings server(TlsSettings.Provider p) { return TlsSettings.fromDirectory(dir, "server", p); }
    TlsSettings client(TlsSettings.Provider p) { return TlsSettings.fromDirectory(dir, "client", p); }
}
