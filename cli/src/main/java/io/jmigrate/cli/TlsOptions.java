package io.jmigrate.cli;

import io.jmigrate.transport.TlsSettings;
import io.jmigrate.transport.TransportException;
import picocli.CommandLine.Option;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;

/** The options every networked command shares: where the certificates are and which one is ours. */
final class TlsOptions {
    static final String DEFAULT_CERTS = "/etc/jmigrate/certs";

    @Option(names = "--certs", paramLabel = "DIR", defaultValue = "${env:JMIGRATE_CERTS:-" + DEFAULT_CERTS + "}",
            description = "certificate directory (ca.crt, NAME.crt, NAME.key), default $JMIGRATE_CERTS or " + DEFAULT_CERTS)
    Path certs;

    @Option(names = "--cert-name", paramLabel = "NAME",
            description = "this host's certificate name in --certs (default: the host name)")
    String certName;

    @Option(names = "--tls-provider", paramLabel = "auto|openssl|jdk", defaultValue = "auto",
            description = "TLS engine: BoringSSL (openssl) or the JDK's; auto takes BoringSSL where it loads")
    String provider;

    String name() {
        if (certName != null) return certName;
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            throw new TransportException("cannot tell this host's name; pass --cert-name");
        }
    }

    TlsSettings settings() {
        return TlsSettings.fromDirectory(certs, name(), TlsSettings.Provider.parse(provider));
    }

    /** "HOST:PORT" or "[V6]:PORT", resolved now. */
    static InetSocketAddress parseAddress(String s, String option) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1)
            throw new TransportException(option + " wants ADDR:PORT, not '" + s + "'");
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new TransportException(option + ": bad port in '" + s + "'");
        }
        if (port < 0 || port > 65535) throw new TransportException(option + ": port " + port + " is out of range");
        InetSocketAddress a = new InetSocketAddress(host, port);
        if (a.isUnresolved()) throw new TransportException(option + ": cannot resolve '" + host + "'");
        return a;
    }
}
