package io.jmigrate.transport;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * The cluster's certificates, made with BouncyCastle: one CA ({@code ca.crt}, {@code ca.key}) and one key and
 * certificate per host ({@code NAME.crt}, {@code NAME.key}), all PEM, ECDSA P-256, in one directory. Private keys
 * are PKCS#8 and every file is created with mode 0600. A host certificate names the host (DNS name, or IP address
 * when NAME is one) plus any extra addresses, and serves both as server and client certificate.
 */
public final class Certificates {
    private Certificates() {}

    public static final String CA_CERT = "ca.crt";
    public static final String CA_KEY = "ca.key";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The files of one host in a certificate directory. */
    public record HostFiles(Path cert, Path key) {}

    public static Path caCert(Path dir) { return dir.resolve(CA_CERT); }

    public static HostFiles hostFiles(Path dir, String host) {
        return new HostFiles(dir.resolve(host + ".crt"), dir.resolve(host + ".key"));
    }

    /** Creates a new CA in {@code dir}; refuses to overwrite one. Returns the CA certificate. */
    public static X509Certificate initCa(Path dir, String name, Duration validity) {
        Path certFile = caCert(dir), keyFile = dir.resolve(CA_KEY);
        if (Files.exists(certFile) || Files.exists(keyFile))
            throw new TransportException(dir + " already holds a CA (" + CA_CERT + "); remove it first to make a new one");
        KeyPair kp = newKeyPair();
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=" + name);
        try {
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), subject, kp.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            X509Certificate cert = sign(b.build(signer(kp.getPrivate())));
            Files.createDirectories(dir);
            writePrivate(keyFile, pem(new JcaPKCS8Generator(kp.getPrivate(), null).generate()));
            writePrivate(certFile, pem(cert));
            return cert;
        } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
            throw new TransportException("cannot create a CA in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Issues a key and certificate for {@code host} signed by the CA in {@code dir}, valid now for {@code validity}. */
    public static HostFiles issue(Path dir, String host, List<String> extraNames, Duration validity) {
        Instant now = Instant.now();
        return issue(dir, host, extraNames, now.minus(Duration.ofMinutes(5)), now.plus(validity));
    }

    /** Issues a host certificate valid from {@code notBefore} to {@code notAfter} (tests make expired ones). */
    public static HostFiles issue(Path dir, String host, List<String> extraNames, Instant notBefore, Instant notAfter) {
        if (host.isBlank() || host.contains("/") || host.startsWith("."))
            throw new TransportException("bad host name '" + host + "': it names the files NAME.crt and NAME.key");
        if (!notAfter.isAfter(notBefore))
            throw new TransportException("certificate would expire before it starts");
        Path caKeyFile = dir.resolve(CA_KEY);
        if (!Files.exists(caKeyFile))
            throw new TransportException("no CA in " + dir + " (" + CA_KEY + " missing): run 'jmigrate certs init' first");
        HostFiles files = hostFiles(dir, host);
        try {
            X509Certificate ca = readCertificate(caCert(dir));
            PrivateKey caKey = readPrivateKey(caKeyFile);
            KeyPair kp = newKeyPair();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, serial(), Date.from(notBefore),
                    Date.from(notAfter), new X500Name("CN=" + host), kp.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            List<GeneralName> names = new ArrayList<>();
            names.add(generalName(host));
            for (String n : extraNames) names.add(generalName(n));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(new KeyPurposeId[]{KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            X509Certificate cert = sign(b.build(signer(caKey)));
            writePrivate(files.key(), pem(new JcaPKCS8Generator(kp.getPrivate(), null).generate()));
            writePrivate(files.cert(), pem(cert));
            return files;
        } catch (IOException | GeneralSecurityException | OperatorCreationException e) {
            throw new TransportException("cannot issue a certificate for " + host + " in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static GeneralName generalName(String name) {
        return isIpLiteral(name) ? new GeneralName(GeneralName.iPAddress, name) : new GeneralName(GeneralName.dNSName, name);
    }

    static boolean isIpLiteral(String s) {
        if (s.contains(":")) return true;   // IPv6
        return s.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    public static X509Certificate readCertificate(Path file) {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            if (!(o instanceof X509CertificateHolder h)) throw new TransportException(file + " holds no PEM certificate");
            return new JcaX509CertificateConverter().getCertificate(h);
        } catch (IOException | GeneralSecurityException e) {
            throw new TransportException("cannot read certificate " + file + ": " + e.getMessage(), e);
        }
    }

    public static PrivateKey readPrivateKey(Path file) {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            if (o instanceof PrivateKeyInfo info) return conv.getPrivateKey(info);
            if (o instanceof PEMKeyPair pair) return conv.getKeyPair(pair).getPrivate();
            throw new TransportException(file + " holds no PEM private key");
        } catch (IOException e) {
            throw new TransportException("cannot read private key " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks that {@code cert} is valid now and signed by {@code ca}, with a one-line reason if not. Used on our
     * own certificate before connecting, so a stale file is reported as such rather than as a refused handshake.
     */
    public static void checkSignedAndCurrent(Path certFile, X509Certificate cert, Path caFile, X509Certificate ca) {
        Instant now = Instant.now();
        if (now.isAfter(cert.getNotAfter().toInstant()))
            throw new TransportException("certificate " + certFile + " expired on " + cert.getNotAfter().toInstant()
                    + ": issue a new one with 'jmigrate certs issue'");
        if (now.isBefore(cert.getNotBefore().toInstant()))
            throw new TransportException("certificate " + certFile + " is not valid before " + cert.getNotBefore().toInstant());
        try {
            cert.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new TransportException("certificate " + certFile + " was not signed by the CA in " + caFile + " (it names issuer "
                    + cert.getIssuerX500Principal().getName() + "): issue it again with this cluster's CA");
        }
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new TransportException("cannot generate an EC key: " + e.getMessage(), e);
        }
    }

    private static ContentSigner signer(PrivateKey key) throws OperatorCreationException {
        return new JcaContentSignerBuilder("SHA256withECDSA").build(key);
    }

    private static X509Certificate sign(X509CertificateHolder holder) throws GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(holder);
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }

    private static String pem(Object o) throws IOException {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(o);
        }
        return sw.toString();
    }

    /** Writes a new file with mode 0600 from the start (never world-readable, not even for a moment), then renames it. */
    private static void writePrivate(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, content, StandardCharsets.US_ASCII);
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }
}
