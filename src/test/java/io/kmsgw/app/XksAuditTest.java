package io.kmsgw.app;

import static io.kmsgw.testing.XksClient.metadata;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.http.GatewayHttpServer;
import io.kmsgw.api.xks.XksApi;
import io.kmsgw.api.xks.XksEndpoint;
import io.kmsgw.audit.AuditFiles;
import io.kmsgw.audit.AuditLog;
import io.kmsgw.audit.AuditVerifier;
import io.kmsgw.audit.DigestSigner;
import io.kmsgw.config.XksSettings;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.hsm.pkcs11.TestKeys;
import io.kmsgw.kms.ExternalKeyService;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.XksClient;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue #15, item 3: XKS key operations are uses of HSM keys, so each one, refused ones included, is in the
 * gateway's audit trail before it is answered, in CloudTrail's shape, with nothing secret in it; and the chain still
 * verifies. Real SoftHSM2 token, real audit files, real HTTP, the AWS SDK's signer.
 */
class XksAuditTest {
  static final String AKID = "ABCDEFGHIJKLMNOPQRST2345";
  static final String SECRET = "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE";
  static final String PLAINTEXT_B64 = Base64.getEncoder().encodeToString(
      "audit-canary-plaintext".getBytes(StandardCharsets.UTF_8));
  static final String AAD_B64 = Base64.getEncoder().encodeToString(
      "audit-canary-aad".getBytes(StandardCharsets.UTF_8));

  /** An XKS API on the fixture's token, its events going to {@code audit}; the server's root URI. */
  static URI serve(Vertx vertx, KmsFixture fx, KeyRecord key, io.kmsgw.api.xks.XksAudit audit) throws Exception {
    XksSettings.Endpoint endpoint = new XksSettings.Endpoint("payments", "ks", "default", "us-east-1",
        "kms-xks-proxy", Set.of(key.keyId().toString()), List.of("xks-*"), false, null,
        List.of(new XksSettings.Credential(AKID, SECRET)), false);
    XksApi api = new XksApi(List.of(XksEndpoint.of(endpoint, List.of(), Clock.systemUTC())),
        new ExternalKeyService(fx.keys, fx.aliases, fx.stores, false),
        id -> new XksApi.EkmInfo("SoftHSM2", "SoftHSM2 test token"), 1, Duration.ofSeconds(30)).audit(audit);
    GatewayHttpServer server = new GatewayHttpServer(new GatewayHttpServer.Listen("127.0.0.1", 0, null, null), null,
        null, () -> new GatewayHttpServer.Health(true, Map.of())).mount(api);
    vertx.deployVerticle(server).await(30, TimeUnit.SECONDS);
    return URI.create("http://127.0.0.1:" + server.actualPort() + "/ks");
  }

  static String encryptBody() {
    return "{" + metadata("Encrypt") + ",\"plaintext\":\"" + PLAINTEXT_B64 + "\",\"additionalAuthenticatedData\":\""
        + AAD_B64 + "\",\"encryptionAlgorithm\":\"AES_GCM\"}";
  }

  @Test
  void xksKeyOperations_refusedOnesToo_areInTheTrail_withoutSecrets_andTheChainVerifies() throws Exception {
    Path auditDir = io.kmsgw.testing.TestToken.scratch("xks-audit-trail");
    List<JsonObject> events = new ArrayList<>();
    Vertx vertx = Vertx.vertx();
    KeyRecord key;
    try (KmsFixture fx = new KmsFixture("xks-audit")) {
      key = fx.newKey();
      TestKeys.generateAes(fx.keyStore.hsm(ErrorCode.KMS_INTERNAL), "xks-labelled", 32, true, true);
      try (AuditLog log = AuditLog.open(new AuditLog.Settings(auditDir, 64L << 20, 0, 1000, Duration.ofSeconds(60),
          "111122223333", "us-east-1"), Clock.systemUTC(), DigestSigner.NONE, List.of())) {
        AuditRecorder recorder = new AuditRecorder(log, Clock.systemUTC(), "us-east-1", "111122223333");
        URI base = serve(vertx, fx, key, recorder);
        XksClient xks = new XksClient(base, AKID, SECRET);

        XksClient.Response enc = xks.post("/keys/" + key.keyId() + "/encrypt", encryptBody());
        assertEquals(200, enc.status(), enc.raw());
        // a refused decrypt (wrong AAD), a key the endpoint was not given, a refused signature, a labelled key
        String decrypt = "{" + metadata("Decrypt") + ",\"ciphertext\":\"" + enc.string("ciphertext")
            + "\",\"ciphertextMetadata\":\"" + enc.string("ciphertextMetadata")
            + "\",\"encryptionAlgorithm\":\"AES_GCM\",\"initializationVector\":\""
            + enc.string("initializationVector") + "\",\"authenticationTag\":\"" + enc.string("authenticationTag")
            + "\"}";
        assertEquals("InvalidCiphertextException", xks.post("/keys/" + key.keyId() + "/decrypt", decrypt)
            .errorName());
        KeyRecord notGiven = fx.newKey();
        assertEquals("KeyNotFoundException", xks.post("/keys/" + notGiven.keyId() + "/metadata",
            "{" + metadata("DescribeKey") + "}").errorName());
        assertEquals("AuthenticationFailedException", xks.withCredentials(AKID, SECRET.replace('F', 'G'))
            .post("/keys/" + key.keyId() + "/encrypt", encryptBody()).errorName());
        assertEquals(200, xks.post("/keys/xks-labelled/metadata", "{" + metadata("DescribeKey") + "}").status());
        // health uses only the gateway's own test key: not recorded
        assertEquals(200, xks.post("/health", "{\"requestMetadata\":{\"kmsRequestId\":\"h-1\","
            + "\"kmsOperation\":\"KmsHealthCheck\"}}").status());
      } finally {
        vertx.close().await(10, TimeUnit.SECONDS);
      }
    }
    String trail = "";
    for (AuditFiles.Entry f : AuditFiles.list(auditDir)) {
      String text = Files.readString(f.path(), StandardCharsets.UTF_8);
      trail += text;
      for (String line : text.split("\n")) {
        JsonObject record = line.isBlank() ? null : new JsonObject(line);
        if (record != null && record.getJsonObject("event") != null
            && "kms-xks-proxy".equals(record.getJsonObject("event").getString("eventSource"))) {
          events.add(record.getJsonObject("event"));
        }
      }
    }
    assertEquals(List.of("Encrypt", "Decrypt", "GetKeyMetadata", "Encrypt", "GetKeyMetadata"),
        events.stream().map(e -> e.getString("eventName")).toList(), trail);

    JsonObject encrypt = events.get(0);
    assertEquals("XksCredential", encrypt.getJsonObject("userIdentity").getString("type"));
    assertEquals("xks:payments/" + AKID, encrypt.getJsonObject("userIdentity").getString("arn"));
    assertEquals(key.arn(), encrypt.getJsonArray("resources").getJsonObject(0).getString("ARN"));
    JsonObject params = encrypt.getJsonObject("requestParameters");
    assertEquals("payments", params.getString("xksEndpoint"));
    assertEquals(key.keyId().toString(), params.getString("externalKeyId"));
    assertEquals("Encrypt", params.getString("kmsOperation"));
    assertEquals("arn:aws:iam::123456789012:user/Alice", params.getString("awsPrincipalArn"));
    assertNull(encrypt.getString("errorCode"));

    assertEquals("InvalidCiphertextException", events.get(1).getString("errorCode"));
    assertEquals("KeyNotFoundException", events.get(2).getString("errorCode"));
    assertTrue(events.get(2).getJsonArray("resources") == null || events.get(2).getJsonArray("resources").isEmpty(),
        "a key the endpoint was not given is not named as used");
    assertEquals("AuthenticationFailedException", events.get(3).getString("errorCode"));
    assertEquals("Unknown", events.get(3).getJsonObject("userIdentity").getString("type"));
    assertEquals("xks-labelled", events.get(4).getJsonObject("requestParameters").getString("externalKeyId"));

    assertFalse(trail.contains(PLAINTEXT_B64), "no plaintext in the trail");
    assertFalse(trail.contains(AAD_B64), "no AAD in the trail");
    assertFalse(trail.contains("h-1"), "health requests are not recorded");
    AuditVerifier.Report report = AuditVerifier.verify(auditDir, Set.of());
    assertTrue(report.problems().isEmpty(), report.problems().toString());
  }

  @Test
  void anXksAnswer_isWithheld_whenItsEventCannotBeRecorded() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (KmsFixture fx = new KmsFixture("xks-audit-down")) {
      KeyRecord key = fx.newKey();
      URI base = serve(vertx, fx, key, call -> CompletableFuture.failedFuture(new java.io.IOException("disk full")));
      XksClient.Response r = new XksClient(base, AKID, SECRET).post("/keys/" + key.keyId() + "/encrypt",
          encryptBody());
      assertEquals(500, r.status(), r.raw());
      assertEquals("InternalException", r.errorName(), r.raw());
      assertFalse(r.raw().contains("ciphertext"), "no ciphertext leaves without its event");
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
