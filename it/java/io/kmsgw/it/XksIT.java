package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.format.StrictJson;
import io.kmsgw.testing.TestCertificates;
import io.kmsgw.testing.XksClient;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The XKS proxy API end to end on {@code ./kmsgw serve}: the development endpoint {@code kmsgw-dev} on the loopback
 * listener (a gateway key by id and by alias name, an AES key made with pkcs11-tool labelled {@code xks-...}),
 * signed by the AWS SDK's signer and by {@code curl --aws-sigv4}; then XKS on a TLS listener of its own with the
 * self-signed development certificate and mTLS, refusing expired, self-signed and wrongly named client certificates.
 */
class XksIT {
  static final String AKID = "ITXKSACCESSKEYID234567AB";
  static final String SECRET = "aXQteGtzLXNlY3JldC1hY2Nlc3Mta2V5LTMyLWJ5dGVz";
  static final String CN = "cks.kms.us-east-1.amazonaws.com";
  static final Map<String, String> ENV = Map.of("KMSGW_DEV_XKS_ACCESS_KEY_ID", AKID,
      "KMSGW_DEV_XKS_SECRET_ACCESS_KEY", SECRET);

  static final software.amazon.awssdk.services.kms.model.Tag DEV_TAG = software.amazon.awssdk.services.kms.model.Tag
      .builder().tagKey("kmsgw:xks-endpoint").tagValue("dev").build();

  static GatewayProcess gateway;
  static String keyId;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayProcess.start("xks", ENV);
    try (KmsClient kms = gateway.client()) {
      // the development endpoint serves a gateway key only when it is tagged for it (issue #15, item 3)
      keyId = kms.createKey(r -> r.description("served over XKS").tags(DEV_TAG)).keyMetadata().keyId();
      kms.createAlias(r -> r.aliasName("alias/xks-served").targetKeyId(keyId));
    }
    gateway.stop();
    // an operator's own key, made outside the gateway
    Pkcs11Tool.generateAes256(gateway.dataDir(), "kmsgw", "xks-it-operator-key");
    gateway = GatewayProcess.restartWith(gateway, ENV);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  static XksClient dev() {
    return new XksClient(URI.create(gateway.endpoint() + "/kmsgw-dev"), AKID, SECRET);
  }

  static String encryptBody(String plaintext, String aad, boolean cdiv) {
    return "{" + XksClient.metadata("GenerateDataKey") + ",\"plaintext\":\""
        + Base64.getEncoder().encodeToString(plaintext.getBytes(StandardCharsets.UTF_8)) + "\""
        + (aad == null ? "" : ",\"additionalAuthenticatedData\":\""
            + Base64.getEncoder().encodeToString(aad.getBytes(StandardCharsets.UTF_8)) + "\"")
        + ",\"encryptionAlgorithm\":\"AES_GCM\"" + (cdiv ? ",\"ciphertextDataIntegrityValueAlgorithm\":\"SHA_256\"" : "")
        + "}";
  }

  static String decryptBody(XksClient.Response enc, String aad) {
    return "{" + XksClient.metadata("Decrypt") + ",\"ciphertext\":\"" + enc.string("ciphertext") + "\""
        + (enc.string("ciphertextMetadata") == null ? "" : ",\"ciphertextMetadata\":\"" + enc.string("ciphertextMetadata") + "\"")
        + (aad == null ? "" : ",\"additionalAuthenticatedData\":\""
            + Base64.getEncoder().encodeToString(aad.getBytes(StandardCharsets.UTF_8)) + "\"")
        + ",\"encryptionAlgorithm\":\"AES_GCM\",\"initializationVector\":\"" + enc.string("initializationVector")
        + "\",\"authenticationTag\":\"" + enc.string("authenticationTag") + "\"}";
  }

  @Test
  void devEndpoint_servesGatewayKeysByIdAndAlias_andTheOperatorsKey() throws Exception {
    XksClient xks = dev();
    for (String id : List.of(keyId, "xks-served", "xks-it-operator-key")) {
      XksClient.Response md = xks.post("/keys/" + id + "/metadata", "{" + XksClient.metadata("CreateKey") + "}");
      assertEquals(200, md.status(), md.raw());
      assertEquals("AES_256", md.string("keySpec"));
      assertTrue(((List<?>) md.json().get("keyUsage")).containsAll(List.of("ENCRYPT", "DECRYPT")), md.raw());
      XksClient.Response enc = xks.post("/keys/" + id + "/encrypt", encryptBody("data key", "ctx", true));
      assertEquals(200, enc.status(), enc.raw());
      XksClient.Response dec = xks.post("/keys/" + id + "/decrypt", decryptBody(enc, "ctx"));
      assertEquals("data key", new String(Base64.getDecoder().decode(dec.string("plaintext")), StandardCharsets.UTF_8));
      assertEquals("InvalidCiphertextException", xks.post("/keys/" + id + "/decrypt", decryptBody(enc, "other"))
          .errorName());
    }
    assertEquals("KeyNotFoundException", xks.post("/keys/kmsgw-dev-unknown/metadata", "{"
        + XksClient.metadata("CreateKey") + "}").errorName());
    try (KmsClient kms = gateway.client()) {
      // a gateway key not tagged for the endpoint is not served, by id or by alias
      String untagged = kms.createKey(r -> r.description("KMS only")).keyMetadata().keyId();
      kms.createAlias(r -> r.aliasName("alias/kms-only").targetKeyId(untagged));
      for (String id : List.of(untagged, "kms-only")) {
        assertEquals("KeyNotFoundException", xks.post("/keys/" + id + "/metadata", "{"
            + XksClient.metadata("CreateKey") + "}").errorName());
      }
      // a disabled gateway key: reported DISABLED, refused for encryption
      String other = kms.createKey(r -> r.description("disabled").tags(DEV_TAG)).keyMetadata().keyId();
      kms.disableKey(r -> r.keyId(other));
      assertEquals("DISABLED", xks.post("/keys/" + other + "/metadata", "{" + XksClient.metadata("DescribeKey") + "}")
          .string("keyStatus"));
      assertEquals("InvalidStateException", xks.post("/keys/" + other + "/encrypt", encryptBody("x", null, false))
          .errorName());
    }
  }

  /**
   * Issue #15, item 3, with the real clients: a KMS ciphertext whose encryption context the AWS SDK caller shaped so
   * that its AAD reads as an XKS format-1 AAD does not decrypt through the XKS endpoint, and an XKS ciphertext dressed
   * as a KMS blob does not decrypt through KMS.
   */
  @Test
  void kmsAndXksCiphertexts_doNotCrossBetweenTheFrontDoors() throws Exception {
    XksClient xks = dev();
    try (KmsClient kms = gateway.client()) {
      String id = kms.createKey(r -> r.description("both front doors").tags(DEV_TAG)).keyMetadata().keyId();
      java.util.UUID uuid = java.util.UUID.fromString(id);
      // the blob header's first two bytes (01, the key id's first byte) read as the XKS AAD's length
      int aadLength = 256 + (int) ((uuid.getMostSignificantBits() >>> 56) & 0xff);
      Map<String, String> context = Map.of("k", "x".repeat(aadLength - 32 - 6) + "\u0005\u0001\u0000\u0000\u0000\u0001");
      byte[] blob = kms.encrypt(r -> r.keyId(id).plaintext(software.amazon.awssdk.core.SdkBytes.fromUtf8String(
          "for KMS callers only")).encryptionContext(context)).ciphertextBlob().asByteArray();
      byte[] kmsAad = io.kmsgw.format.CiphertextBlob.aad(java.util.Arrays.copyOf(blob, 33),
          io.kmsgw.format.EncryptionContextCodec.encode(context));
      Base64.Encoder b64 = Base64.getEncoder();
      String attack = "{" + XksClient.metadata("Decrypt") + ",\"ciphertext\":\""
          + b64.encodeToString(java.util.Arrays.copyOfRange(blob, 33, blob.length - 16))
          + "\",\"ciphertextMetadata\":\"AQAAAAE=\",\"additionalAuthenticatedData\":\""
          + b64.encodeToString(java.util.Arrays.copyOfRange(kmsAad, 2, kmsAad.length - 6))
          + "\",\"encryptionAlgorithm\":\"AES_GCM\",\"initializationVector\":\""
          + b64.encodeToString(java.util.Arrays.copyOfRange(blob, 21, 33)) + "\",\"authenticationTag\":\""
          + b64.encodeToString(java.util.Arrays.copyOfRange(blob, blob.length - 16, blob.length)) + "\"}";
      assertEquals("InvalidCiphertextException", xks.post("/keys/" + id + "/decrypt", attack).errorName());
      assertEquals("for KMS callers only", kms.decrypt(r -> r.ciphertextBlob(software.amazon.awssdk.core.SdkBytes
          .fromByteArray(blob)).encryptionContext(context)).plaintext().asUtf8String());

      XksClient.Response enc = xks.post("/keys/" + id + "/encrypt", encryptBody("for XKS only", null, false));
      assertEquals(200, enc.status(), enc.raw());
      java.io.ByteArrayOutputStream dressed = new java.io.ByteArrayOutputStream();
      dressed.writeBytes(io.kmsgw.format.CiphertextBlob.header(uuid, 1,
          Base64.getDecoder().decode(enc.string("initializationVector"))));
      dressed.writeBytes(Base64.getDecoder().decode(enc.string("ciphertext")));
      dressed.writeBytes(Base64.getDecoder().decode(enc.string("authenticationTag")));
      assertThrows(software.amazon.awssdk.services.kms.model.InvalidCiphertextException.class, () -> kms.decrypt(
          r -> r.ciphertextBlob(software.amazon.awssdk.core.SdkBytes.fromByteArray(dressed.toByteArray()))));
    }
  }

  @Test
  void devEndpoint_answersCurlWithAwsSigV4() throws Exception {
    String health = curl(List.of(), gateway.endpoint() + "/kmsgw-dev/kms/xks/v1/health",
        "{\"requestMetadata\":{\"kmsOperation\":\"KmsHealthCheck\",\"kmsRequestId\":\"curl-1\"}}");
    Map<String, Object> h = StrictJson.parseObject(health.getBytes(StandardCharsets.UTF_8));
    assertEquals("ACTIVE", ((Map<?, ?>) ((List<?>) h.get("ekmFleetDetails")).get(0)).get("healthStatus"), health);
    String enc = curl(List.of(), gateway.endpoint() + "/kmsgw-dev/kms/xks/v1/keys/xks-served/encrypt",
        encryptBody("Hello World!", null, false));
    assertTrue(enc.contains("\"ciphertextMetadata\""), enc);
    String bad = curl(List.of(), gateway.endpoint() + "/wrong-prefix/kms/xks/v1/health", "{}");
    assertTrue(bad.contains("InvalidUriPathException"), bad);
    assertTrue(gateway.logText().contains("kms_request_id=curl-1"), "the kmsRequestId is logged");
    assertTrue(!gateway.logText().contains("SGVsbG8gV29ybGQh"), "the plaintext is never logged");
  }

  static String curl(List<String> extra, String url, String body) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:kms-xks-proxy",
        "--user", AKID + ":" + SECRET, "-H", "Content-Type: application/json", "--data-binary", "@-"));
    cmd.addAll(extra);
    cmd.add(url);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    return out;
  }

  @Test
  void tlsListener_withMutualTls_refusesExpiredSelfSignedAndMisnamedClients() throws Exception {
    Path dir = gateway.dataDir().resolveSibling(gateway.dataDir().getFileName() + "-certs");
    Files.createDirectories(dir);
    TestCertificates.Issued ca = TestCertificates.valid("kmsgw test client CA", null, true);
    TestCertificates.writePem(dir.resolve("client-ca.pem"), ca.certificate());
    TestCertificates.Issued good = TestCertificates.valid(CN, ca, false);
    Instant now = Instant.now();
    TestCertificates.Issued expired = TestCertificates.issue(CN, ca, false, now.minus(Duration.ofDays(30)),
        now.minus(Duration.ofDays(1)));
    TestCertificates.Issued selfSigned = TestCertificates.valid(CN, null, false);
    TestCertificates.Issued misnamed = TestCertificates.valid("cks.kms.eu-west-1.amazonaws.com", ca, false);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    java.util.Map<String, String> env = new java.util.HashMap<>(ENV);
    env.put("KMSGW_XKS_LISTENER_PORT", Integer.toString(port));
    env.put("KMSGW_XKS_LISTENER_TLS_CLIENT_CA_FILE", dir.resolve("client-ca.pem").toString());
    env.put("KMSGW_XKS_LISTENER_TLS_CLIENT_NAMES", CN);
    gateway.stop();
    gateway = GatewayProcess.restartWith(gateway, env);
    try {
      X509Certificate server;
      try (var in = Files.newInputStream(gateway.dataDir().resolve("tls").resolve("xks-dev-certificate.pem"))) {
        server = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      }
      URI base = URI.create("https://127.0.0.1:" + port + "/kmsgw-dev");
      String health = "{\"requestMetadata\":{\"kmsOperation\":\"KmsHealthCheck\",\"kmsRequestId\":\"tls-1\"}}";
      XksClient.Response ok = client(base, good, server).post("/health", health);
      assertEquals(200, ok.status(), ok.raw());
      XksClient.Response enc = client(base, good, server).post("/keys/xks-served/encrypt", encryptBody("x", null, false));
      assertEquals(200, enc.status(), enc.raw());
      // its health check is the status alone; the details are not served on the XKS listener (issue #15 item 7)
      java.net.http.HttpClient tls = java.net.http.HttpClient.newBuilder()
          .sslContext(TestCertificates.clientContext(good, server)).build();
      java.net.http.HttpResponse<String> status = tls.send(java.net.http.HttpRequest.newBuilder(
          URI.create("https://127.0.0.1:" + port + "/healthz")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(200, status.statusCode());
      assertEquals("{\"status\":\"ok\"}", status.body());
      java.net.http.HttpResponse<String> detail = tls.send(java.net.http.HttpRequest.newBuilder(
          URI.create("https://127.0.0.1:" + port + "/healthz/detail")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(400, detail.statusCode(), detail.body());
      assertTrue(detail.body().contains("UnknownOperationException") && !detail.body().contains("pool"),
          detail.body());
      for (TestCertificates.Issued bad : new TestCertificates.Issued[] {expired, selfSigned, misnamed, null}) {
        assertThrows(IOException.class, () -> client(base, bad, server).post("/health", health),
            "a client certificate " + (bad == null ? "missing" : bad.certificate().getSubjectX500Principal()));
      }
    } finally {
      gateway.stop();
      gateway = GatewayProcess.restartWith(gateway, ENV);
    }
  }

  @Test
  void credentials_rotateWithoutARestart_onSighup() throws Exception {
    String first = "ROTATEFIRSTAAAAAAAAAAAAAAA2";
    String second = "ROTATESECONDBBBBBBBBBBBBBB3";
    String secret1 = Base64.getEncoder().encodeToString("first-rotation-secret-32-bytes-ok".getBytes());
    String secret2 = Base64.getEncoder().encodeToString("second-rotation-secret-32-bytes!!".getBytes());
    Path dir = gateway.dataDir().resolveSibling(gateway.dataDir().getFileName() + "-rotation");
    Files.createDirectories(dir);
    Path config = dir.resolve("kmsgw.yaml");
    java.util.function.Consumer<List<String[]>> write = creds -> {
      StringBuilder y = new StringBuilder("hsm:\n  dev_token: true\nxks:\n  endpoints:\n    rotating:\n"
          + "      prefix: rot\n      tagged_keys: true\n      credentials:\n");
      for (String[] c : creds) {
        y.append("        ").append(c[0].toLowerCase()).append(":\n          access_key_id: ").append(c[0])
            .append("\n          secret_access_key: ").append(c[1]).append("\n");
      }
      try {
        Files.writeString(config, y.toString());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
    write.accept(List.<String[]>of(new String[] {first, secret1}));
    Map<String, String> env = new java.util.HashMap<>(ENV);
    env.put("SOFTHSM2_CONF", gateway.dataDir().resolve("softhsm/softhsm2.conf").toString());
    List<String> args = List.of("--config", config.toString());
    gateway.stop();
    gateway = GatewayProcess.restartWith(gateway, env, args);
    try {
      URI base = URI.create(gateway.endpoint() + "/rot");
      String health = "{\"requestMetadata\":{\"kmsOperation\":\"KmsHealthCheck\",\"kmsRequestId\":\"rot-1\"}}";
      XksClient one = new XksClient(base, first, secret1);
      XksClient two = new XksClient(base, second, secret2);
      assertEquals(200, one.post("/health", health).status());
      assertEquals(401, two.post("/health", health).status());

      // both valid during the rotation: the front end can switch at its own pace
      write.accept(List.of(new String[] {first, secret1}, new String[] {second, secret2}));
      gateway.signal("HUP");
      awaitStatus(two, health, 200);
      assertEquals(200, one.post("/health", health).status());

      // the old one retired, still without a restart
      write.accept(List.<String[]>of(new String[] {second, secret2}));
      gateway.signal("HUP");
      awaitStatus(one, health, 401);
      assertEquals(200, two.post("/health", health).status());
      assertTrue(gateway.logText().contains("reload: xks endpoint rotating"), gateway.logText());
    } finally {
      gateway.stop();
      gateway = GatewayProcess.restartWith(gateway, ENV);
    }
  }

  static void awaitStatus(XksClient c, String body, int status) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    int last = -1;
    while (System.nanoTime() < deadline) {
      last = c.post("/health", body).status();
      if (last == status) {
        return;
      }
      Thread.sleep(100);
    }
    assertEquals(status, last, "after SIGHUP");
  }

  static XksClient client(URI base, TestCertificates.Issued cert, X509Certificate server) throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(TestCertificates.clientContext(cert, server))
        .connectTimeout(Duration.ofSeconds(5)).build();
    return new XksClient(base, AKID, SECRET, "us-east-1", "kms-xks-proxy", http);
  }

  @Test
  void keyUsage_comesFromTheHsmObject() throws Exception {
    assertArrayEquals(new Object[] {"ENCRYPT", "DECRYPT"}, ((List<?>) dev().post("/keys/xks-it-operator-key/metadata",
        "{" + XksClient.metadata("CreateKey") + "}").json().get("keyUsage")).subList(0, 2).toArray());
  }
}
