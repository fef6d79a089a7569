package io.kmsgw.api.xks;

import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.TrustOptions;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.TrustManagerFactorySpi;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS of the XKS listener: TLS 1.2 and 1.3 with the XKS spec's cipher suites only ("API content type"), and
 * optional mutual TLS: the client's certificate must chain to the configured root CA and carry one of the
 * configured subject common names (KMS presents {@code CN=cks.kms.<region>.amazonaws.com}), else the handshake is
 * refused (XKS spec, "Authentication").
 */
public final class XksTls {
  /** The XKS spec's suites, in the JDK's names: each has forward secrecy and AES-256 or ChaCha20. */
  public static final List<String> CIPHER_SUITES = List.of(
      "TLS_AES_256_GCM_SHA384",
      "TLS_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");

  private XksTls() {}

  /**
   * @param clientCa the PEM file of the client certificates' root CA(s), or null for no client authentication
   * @param clientNames the subject CNs accepted
   */
  public static Consumer<HttpServerOptions> options(Path clientCa, Set<String> clientNames)
      throws IOException, GeneralSecurityException {
    TrustManagerFactory trust = clientCa == null ? null
        : factoryOf(new NamedClientTrust(pkix(clientCa), Set.copyOf(clientNames)));
    return o -> {
      o.getEnabledCipherSuites().clear();
      CIPHER_SUITES.forEach(o::addEnabledCipherSuite);
      if (trust != null) {
        o.setClientAuth(ClientAuth.REQUIRED).setTrustOptions(TrustOptions.wrap(trust));
      }
    };
  }

  /**
   * A factory that hands out this trust manager. (Vert.x's {@code TrustOptions.wrap(TrustManager)} needs SLF4J,
   * which the gateway does not ship.)
   */
  private static TrustManagerFactory factoryOf(TrustManager tm) {
    TrustManagerFactorySpi spi = new TrustManagerFactorySpi() {
      @Override
      protected void engineInit(KeyStore ks) {}

      @Override
      protected void engineInit(ManagerFactoryParameters spec) {}

      @Override
      protected TrustManager[] engineGetTrustManagers() {
        return new TrustManager[] {tm};
      }
    };
    return new TrustManagerFactory(spi, null, "kmsgw-xks-client") {};
  }

  static X509ExtendedTrustManager pkix(Path caFile) throws IOException, GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    int n = 0;
    try (InputStream in = Files.newInputStream(caFile)) {
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca-" + n++, c);
      }
    }
    if (n == 0) {
      throw new GeneralSecurityException("no certificate in " + caFile);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager");
  }

  /** The subject CNs of a certificate. */
  static List<String> commonNames(X509Certificate cert) throws CertificateException {
    try {
      return new LdapName(cert.getSubjectX500Principal().getName()).getRdns().stream()
          .filter(r -> r.getType().equalsIgnoreCase("CN")).map(Rdn::getValue).map(Object::toString).toList();
    } catch (InvalidNameException e) {
      throw new CertificateException("the client certificate's subject cannot be read");
    }
  }

  /** PKIX validation against the configured CA, then the subject CN. */
  static final class NamedClientTrust extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager pkix;
    private final Set<String> names;

    NamedClientTrust(X509ExtendedTrustManager pkix, Set<String> names) {
      this.pkix = pkix;
      this.names = names;
    }

    private void checkName(X509Certificate[] chain) throws CertificateException {
      if (chain == null || chain.length == 0 || commonNames(chain[0]).stream().noneMatch(names::contains)) {
        throw new CertificateException("the client certificate's subject CN is not one this XKS listener accepts");
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      pkix.checkClientTrusted(chain, authType, socket);
      checkName(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      pkix.checkClientTrusted(chain, authType, engine);
      checkName(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      pkix.checkClientTrusted(chain, authType);
      checkName(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("a server-side trust manager only");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("a server-side trust manager only");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("a server-side trust manager only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return pkix.getAcceptedIssuers();
    }
  }
}
