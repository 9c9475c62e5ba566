package io.jmigrate.transport;

import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;

import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.Locale;

/** Turns TLS failures into one line that says what is wrong with which certificate. */
public final class TlsErrors {
    private TlsErrors() {}

    /**
     * Explains a failed handshake. {@code peerRole} names the other side ("page server", "client"), and
     * {@code peer} its address.
     */
    public static String explain(Throwable failure, String peerRole, String peer) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CertificateExpiredException)
                return "refused " + peerRole + " " + peer + ": its certificate has expired (" + t.getMessage() + ")";
            if (t instanceof CertificateNotYetValidException)
                return "refused " + peerRole + " " + peer + ": its certificate is not valid yet (" + t.getMessage() + ")";
            if (t instanceof NotSslRecordException)
                return "refused " + peerRole + " " + peer + ": it spoke plaintext, not TLS";
        }
        String all = messages(failure);
        String lower = all.toLowerCase(Locale.ROOT);
        if (lower.contains("no subject alternative") || lower.contains("no name matching")
                || lower.contains("hostname") && lower.contains("match"))
            return "refused " + peerRole + " " + peer + ": its certificate is for another host (" + firstLine(all) + ")";
        if (lower.contains("unable to find valid certification path") || lower.contains("pkix path")
                || lower.contains("signature check failed") || lower.contains("unknown_ca") && !lower.contains("alert"))
            return "refused " + peerRole + " " + peer + ": its certificate is not signed by our cluster CA";
        if (lower.contains("peer_did_not_return_a_certificate") || lower.contains("empty client certificate")
                || lower.contains("peer did not return a certificate") || lower.contains("null cert chain"))
            return "refused " + peerRole + " " + peer + ": it sent no certificate";
        if (lower.contains("certificate_required"))
            return peerRole + " " + peer + " refused us: we sent no client certificate";
        if (lower.contains("alert") || lower.contains("tlsv1_alert") || lower.contains("sslv3_alert"))
            return peerRole + " " + peer + " refused our certificate (" + alertName(lower) + ")";
        for (Throwable t = failure; t != null; t = t.getCause())
            if (t instanceof javax.net.ssl.SSLException)
                return "TLS with " + peerRole + " " + peer + " failed: " + firstLine(all);
        return peerRole + " " + peer + ": " + firstLine(all);
    }

    private static String alertName(String lower) {
        for (String a : new String[]{"certificate_expired", "unknown_ca", "bad_certificate", "certificate_unknown",
                "certificate_required", "handshake_failure", "decrypt_error", "access_denied"})
            if (lower.contains(a)) return a;
        int i = lower.indexOf("alert");
        return i >= 0 ? lower.substring(i, Math.min(lower.length(), i + 60)).strip() : "alert";
    }

    static String messages(Throwable failure) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof DecoderException && t.getCause() != null && t.getMessage() != null
                    && t.getMessage().equals(t.getCause().toString())) continue;
            if (!sb.isEmpty()) sb.append(": ");
            sb.append(t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName());
        }
        return sb.toString();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
