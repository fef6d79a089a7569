package io.kmsgw.app;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.logging.Logger;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A self-signed TLS certificate for development ({@code xks.listener.tls.self_signed}), made with Bouncy Castle
 * into {@code <data_dir>/tls/}: an ECDSA P-256 key (PKCS#8 PEM, mode 0600) and a certificate for
 * {@code localhost}, {@code 127.0.0.1} and the listener's host, valid one year, made again when it expires. Clients
 * must be told to trust it (curl {@code --cacert}); AWS KMS itself accepts only publicly trusted certificates.
 */
final class DevCertificate {
  private static final Logger LOG = Logger.getLogger(DevCertificate.class.getName());

  record Files2(Path certificate, Path privateKey) {}

  private DevCertificate() {}

  static Files2 ensure(Path dataDir, String host) throws IOException {
    Path dir = dataDir.resolve("tls");
    Path cert = dir.resolve("xks-dev-certificate.pem");
    Path key = dir.resolve("xks-dev-private-key.pem");
    if (Files.exists(cert) && Files.exists(key) && valid(cert)) {
      return new Files2(cert, key);
    }
    SecretFiles.privateDirectory(dir);
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
      KeyPair pair = g.generateKeyPair();
      Instant now = Instant.now();
      X500Name subject = new X500Name("CN=kmsgw XKS development certificate");
      List<GeneralName> names = new ArrayList<>(List.of(new GeneralName(GeneralName.dNSName, "localhost"),
          new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
      if (!host.isBlank() && !host.equals("0.0.0.0") && !host.equals("::") && !host.equals("localhost")
          && !host.equals("127.0.0.1")) {
        names.add(new GeneralName(host.matches("[0-9.]+|.*:.*") ? GeneralName.iPAddress : GeneralName.dNSName,
            host));
      }
      X509CertificateHolder holder = new JcaX509v3CertificateBuilder(subject,
          new BigInteger(64, new SecureRandom()).abs().add(BigInteger.ONE), Date.from(now.minus(Duration.ofHours(1))),
          Date.from(now.plus(Duration.ofDays(365))), subject, pair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
          .addExtension(Extension.subjectAlternativeName, false,
              new GeneralNames(names.toArray(new GeneralName[0])))
          .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()));
      StringWriter keyPem = new StringWriter();
      try (JcaPEMWriter w = new JcaPEMWriter(keyPem)) {
        w.writeObject(new JcaPKCS8Generator(pair.getPrivate(), null));
      }
      StringWriter certPem = new StringWriter();
      try (JcaPEMWriter w = new JcaPEMWriter(certPem)) {
        w.writeObject(holder);
      }
      Files.deleteIfExists(key);
      SecretFiles.createPrivate(key, keyPem.toString());
      Files.writeString(cert, certPem.toString(), StandardCharsets.US_ASCII);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("cannot make the development TLS certificate: " + e.getMessage(), e);
    }
    LOG.info(() -> "made a self-signed development TLS certificate for the XKS listener: " + cert);
    return new Files2(cert, key);
  }

  private static boolean valid(Path cert) {
    try (var in = Files.newInputStream(cert)) {
      X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      return c.getNotAfter().toInstant().isAfter(Instant.now().plus(Duration.ofDays(1)));
    } catch (IOException | GeneralSecurityException e) {
      return false;
    }
  }
}
