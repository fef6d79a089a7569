package io.kmsgw.testing;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Certificates for TLS tests, made with Bouncy Castle: a CA and client certificates good and bad. */
public final class TestCertificates {
  /** A key pair and its certificate. */
  public record Issued(KeyPair keys, X509Certificate certificate) {}

  private TestCertificates() {}

  public static KeyPair ecKeys() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  /** A certificate for {@code cn}, signed by {@code issuer} (null: self-signed), valid from {@code from} to {@code to}. */
  public static Issued issue(String cn, Issued issuer, boolean ca, Instant from, Instant to) throws Exception {
    KeyPair keys = ecKeys();
    X500Name subject = new X500Name("CN=" + cn);
    X500Name issuerName = issuer == null ? subject
        : new X500Name(issuer.certificate().getSubjectX500Principal().getName());
    var builder = new JcaX509v3CertificateBuilder(issuerName, new BigInteger(64, new SecureRandom()).abs().add(
        BigInteger.ONE), Date.from(from), Date.from(to), subject, keys.getPublic())
        .addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    var signer = new JcaContentSignerBuilder("SHA256withECDSA")
        .build(issuer == null ? keys.getPrivate() : issuer.keys().getPrivate());
    return new Issued(keys, new JcaX509CertificateConverter().getCertificate(builder.build(signer)));
  }

  public static Issued valid(String cn, Issued issuer, boolean ca) throws Exception {
    Instant now = Instant.now();
    return issue(cn, issuer, ca, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(30)));
  }

  public static void writePem(Path file, Object object) throws Exception {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(w)) {
      pem.writeObject(object);
    }
    Files.writeString(file, w.toString(), StandardCharsets.US_ASCII);
  }

  /** A client TLS context presenting {@code client} (or nothing) and trusting {@code serverCertificate}. */
  public static SSLContext clientContext(Issued client, X509Certificate serverCertificate) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("server", serverCertificate);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    char[] pw = "test".toCharArray();
    if (client != null) {
      ks.setKeyEntry("client", client.keys().getPrivate(), pw, new X509Certificate[] {client.certificate()});
    }
    kmf.init(ks, pw);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
    return ctx;
  }
}
