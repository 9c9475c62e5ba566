package io.jmigrate.transport;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import javax.net.ssl.SSLException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Locale;

/**
 * TLS 1.3 with mutual authentication: this host's key and certificate, and the cluster CA that every peer's
 * certificate must be signed by. Servers require a client certificate; clients check the server's certificate
 * against the host name or address they dialled.
 *
 * @param provider which TLS engine: BoringSSL (netty-tcnative) or the JDK's
 */
public record TlsSettings(Path caCert, Path hostCert, Path hostKey, Provider provider) {

    public enum Provider {
        /** BoringSSL where it loads, else the JDK. */
        AUTO,
        OPENSSL,
        JDK;

        public static Provider parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new TransportException("unknown TLS provider '" + s + "' (auto, openssl or jdk)");
            }
        }
    }

    /** The files of {@code host} in certificate directory {@code dir}, as written by {@link Certificates}. */
    public static TlsSettings fromDirectory(Path dir, String host, Provider provider) {
        Certificates.HostFiles f = Certificates.hostFiles(dir, host);
        return new TlsSettings(Certificates.caCert(dir), f.cert(), f.key(), provider);
    }

    /** The provider actually used: AUTO resolves to OPENSSL when BoringSSL loads here. */
    public SslProvider sslProvider() {
        return switch (provider) {
            case JDK -> SslProvider.JDK;
            case OPENSSL -> {
                if (!OpenSsl.isAvailable())
                    throw new TransportException("BoringSSL (netty-tcnative) does not load here: "
                            + OpenSsl.unavailabilityCause() + "; use --tls-provider jdk");
                yield SslProvider.OPENSSL;
            }
            case AUTO -> OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        };
    }

    /** Fails with one line if a file is missing or our own certificate is expired or from another CA. */
    public void checkOwnFiles() {
        for (Path p : new Path[]{caCert, hostCert, hostKey})
            if (!Files.isReadable(p))
                throw new TransportException("TLS file " + p + " is missing or unreadable (see 'jmigrate certs --help')");
        X509Certificate ca = Certificates.readCertificate(caCert);
        Certificates.checkSignedAndCurrent(hostCert, Certificates.readCertificate(hostCert), caCert, ca);
    }

    public SslContext serverContext() {
        checkOwnFiles();
        try {
            return SslContextBuilder.forServer(hostCert.toFile(), hostKey.toFile())
                    .trustManager(caCert.toFile())
                    .clientAuth(ClientAuth.REQUIRE)
                    .protocols("TLSv1.3")
                    .sslProvider(sslProvider())
                    .build();
        } catch (SSLException e) {
            throw new TransportException("cannot set up TLS with " + hostCert + ": " + e.getMessage(), e);
        }
    }

    public SslContext clientContext() {
        checkOwnFiles();
        try {
            return SslContextBuilder.forClient()
                    .keyManager(hostCert.toFile(), hostKey.toFile())
                    .trustManager(caCert.toFile())
                    .protocols("TLSv1.3")
                    .endpointIdentificationAlgorithm("HTTPS")
                    .sslProvider(sslProvider())
                    .build();
        } catch (SSLException e) {
            throw new TransportException("cannot set up TLS with " + hostCert + ": " + e.getMessage(), e);
        }
    }
}
