package io.kmsgw.api.xks;

import static io.kmsgw.testing.XksClient.metadata;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.http.GatewayHttpServer;
import io.kmsgw.config.XksSettings;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.hsm.pkcs11.TestKeys;
import io.kmsgw.kms.ExternalKeyService;
import io.kmsgw.policy.PolicyParser;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.XksClient;
import io.vertx.core.Vertx;
import java.net.URI;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The XKS proxy API over real HTTP on a real SoftHSM2 token, signed with the AWS SDK's signer: the cases of the
 * public AWS XKS proxy test client, and the gateway's own (rotation, usage attributes, policy, limits).
 */
class XksApiTest {
  static final String AKID_A = "ABCDEFGHIJKLMNOPQRST2345";
  static final String SECRET_A = "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE";
  static final String AKID_B = "ZYXWVUTSRQPONMLKJIHG7654";
  static final String SECRET_B = "c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM=";
  static final Base64.Encoder B64 = Base64.getEncoder();
  static final Base64.Decoder D64 = Base64.getDecoder();

  static KmsFixture fx;
  static Vertx vertx;
  static XksClient xks;
  static XksClient guarded;
  static URI root;
  static KeyRecord managed;
  static KeyRecord disabled;
  static KeyRecord rotating;

  @BeforeAll
  static void start() throws Exception {
    fx = new KmsFixture("xks-api");
    managed = fx.newKey();
    disabled = fx.newKey();
    rotating = fx.newKey();
    KmsFixture.await(fx.aliases.create(KmsFixture.ROOT, "alias/payments-key", managed.keyId()));
    KmsFixture.await(fx.lifecycle.disableKey(KmsFixture.ROOT, disabled.keyId()));
    var hsm = fx.keyStore.hsm(ErrorCode.KMS_INTERNAL);
    TestKeys.generateAes(hsm, "xks-both", 32, true, true);
    TestKeys.generateAes(hsm, "xks-encrypt-only", 32, true, false);
    TestKeys.generateAes(hsm, "xks-decrypt-only", 32, false, true);
    TestKeys.generateAes(hsm, "xks-no-usage", 32, false, false);
    TestKeys.generateAes(hsm, "xks-aes128", 16, true, true);
    TestKeys.generateAes(hsm, "not-exposed", 32, true, true);
    TestKeys.generateAes(hsm, "xks-doomed", 32, true, true);
    TestKeys.generateAes(hsm, "xks-revoked", 32, true, true);
    XksSettings.Endpoint main = new XksSettings.Endpoint("main", "test/ks1", "default", "us-east-1",
        "kms-xks-proxy", Set.of(managed.keyId().toString(), "payments-key", disabled.keyId().toString(),
            rotating.keyId().toString()),
        List.of("xks-*"), false, null, List.of(new XksSettings.Credential(AKID_A, SECRET_A),
            new XksSettings.Credential(AKID_B, SECRET_B)), false);
    XksSettings.Endpoint withPolicy = new XksSettings.Endpoint("guarded", "guarded", "default", "us-east-1",
        "kms-xks-proxy", Set.of(), List.of("xks-*"), false, null,
        List.of(new XksSettings.Credential(AKID_A, SECRET_A)), false);
    String policy = "{\"Version\":\"2012-10-17\",\"Statement\":["
        + "{\"Effect\":\"Allow\",\"Action\":[\"xks:GetKeyMetadata\",\"xks:Encrypt\",\"xks:Decrypt\"],"
        + "\"Resource\":\"*\",\"Condition\":{\"ArnLike\":{\"xks:AwsPrincipalArn\":\"arn:aws:iam::123456789012:user/Alice\"}}},"
        + "{\"Effect\":\"Deny\",\"Action\":\"xks:Decrypt\",\"Resource\":\"*\","
        + "\"Condition\":{\"StringEquals\":{\"xks:KmsViaService\":\"ebs\"}}}]}";
    ExternalKeyService service = new ExternalKeyService(fx.keys, fx.aliases, fx.stores, false);
    // the health check's deep probe is DEGRADED above 100 ms: take its first (cold) runs out of the measured one
    for (int i = 0; i < 3; i++) {
      service.probe("default").get(10, java.util.concurrent.TimeUnit.SECONDS);
    }
    XksApi api = new XksApi(List.of(XksEndpoint.of(main, List.of(), Clock.systemUTC()),
        XksEndpoint.of(withPolicy, List.of(PolicyParser.parse(policy, PolicyParser.Kind.IDENTITY)),
            Clock.systemUTC())),
        service, id -> new XksApi.EkmInfo("SoftHSM2", "SoftHSM2 test token"), 2, Duration.ofSeconds(30));
    vertx = Vertx.vertx();
    GatewayHttpServer server = new GatewayHttpServer(new GatewayHttpServer.Listen("127.0.0.1", 0, null, null), null,
        null, () -> new GatewayHttpServer.Health(true, Map.of())).mount(api);
    vertx.deployVerticle(server).await(30, TimeUnit.SECONDS);
    root = URI.create("http://127.0.0.1:" + server.actualPort());
    xks = new XksClient(URI.create(root + "/test/ks1"), AKID_A, SECRET_A);
    guarded = new XksClient(URI.create(root + "/guarded"), AKID_A, SECRET_A);
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    fx.close();
  }

  static final String HEALTH = "{\"requestMetadata\":{\"kmsRequestId\":\"r-1\",\"kmsOperation\":\"KmsHealthCheck\"}}";

  static String encryptBody(byte[] plaintext, byte[] aad, boolean cdiv) {
    return "{" + metadata("Encrypt") + ",\"plaintext\":\"" + B64.encodeToString(plaintext) + "\""
        + (aad == null ? "" : ",\"additionalAuthenticatedData\":\"" + B64.encodeToString(aad) + "\"")
        + ",\"encryptionAlgorithm\":\"AES_GCM\""
        + (cdiv ? ",\"ciphertextDataIntegrityValueAlgorithm\":\"SHA_256\"" : "") + "}";
  }

  static String decryptBody(XksClient.Response enc, byte[] aad) {
    return decryptBody(enc.string("ciphertext"), enc.string("ciphertextMetadata"), aad, enc.string("initializationVector"),
        enc.string("authenticationTag"));
  }

  static String decryptBody(String ct, String md, byte[] aad, String iv, String tag) {
    return "{" + metadata("Decrypt") + ",\"ciphertext\":\"" + ct + "\""
        + (md == null ? "" : ",\"ciphertextMetadata\":\"" + md + "\"")
        + (aad == null ? "" : ",\"additionalAuthenticatedData\":\"" + B64.encodeToString(aad) + "\"")
        + ",\"encryptionAlgorithm\":\"AES_GCM\",\"initializationVector\":\"" + iv + "\",\"authenticationTag\":\""
        + tag + "\"}";
  }

  static void assertError(XksClient.Response r, int status, String name) {
    assertEquals(status, r.status(), r.raw());
    assertEquals(name, r.errorName(), r.raw());
    String message = (String) r.json().get("errorMessage");
    assertTrue(message == null || (message.length() < 512 && message.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)));
  }

  // ---- GetHealthStatus

  @Test
  void health_valid_reportsTheFleet() throws Exception {
    XksClient.Response r = xks.post("/health", HEALTH);
    assertEquals(200, r.status(), r.raw());
    assertEquals(2, ((Number) r.json().get("xksProxyFleetSize")).intValue());
    assertEquals("kmsgw", r.string("xksProxyVendor"));
    assertEquals("SoftHSM2", r.string("ekmVendor"));
    List<?> fleet = (List<?>) r.json().get("ekmFleetDetails");
    assertEquals(1, fleet.size());
    assertEquals("ACTIVE", ((Map<?, ?>) fleet.get(0)).get("healthStatus"));
    assertEquals("default", ((Map<?, ?>) fleet.get(0)).get("id"));
  }

  @Test
  void health_withoutKmsRequestIdOrKmsOperation_isValidationException() throws Exception {
    // public XKS test client, test_get_health_status: requestMetadata.kmsRequestId and kmsOperation are REQUIRED
    assertError(xks.post("/health", "{}"), 400, "ValidationException");
    assertError(xks.post("/health", "{\"requestMetadata\":{}}"), 400, "ValidationException");
    assertError(xks.post("/health", "{\"requestMetadata\":{\"kmsRequestId\":\"r-1\"}}"), 400,
        "ValidationException");
    assertError(xks.post("/health", "{\"requestMetadata\":{\"kmsOperation\":\"KmsHealthCheck\"}}"), 400,
        "ValidationException");
    assertError(xks.post("/health", ""), 400, "ValidationException");
    assertError(xks.post("/health", "not json"), 400, "ValidationException");
  }

  @Test
  void health_withBadAccessKeyOrSecret_failsAuthentication() throws Exception {
    assertError(xks.withCredentials("AAAAAAAAAAAAAAAAAAAAAAAA", SECRET_A).post("/health", HEALTH), 401,
        "AuthenticationFailedException");
    assertError(xks.withCredentials(AKID_A, SECRET_B).post("/health", HEALTH), 401, "AuthenticationFailedException");
  }

  @Test
  void health_atAnUnknownPrefix_isInvalidUriPath_evenWhenSignedWell() throws Exception {
    assertError(xks.withBase(URI.create(root + "/nope")).post("/health", HEALTH), 404, "InvalidUriPathException");
    assertError(xks.withBase(root).post("/health", HEALTH), 404, "InvalidUriPathException");
  }

  @Test
  void health_isNeverSubjectToThePolicy() throws Exception {
    assertEquals(200, guarded.post("/health", HEALTH).status());
  }

  @Test
  void get_isMethodNotAllowed() throws Exception {
    assertEquals(405, xks.get("/health").status());
    assertEquals(405, xks.get("/keys/xks-both/metadata").status());
  }

  @Test
  void signature_outsideTheFiveMinuteWindow_orWithAnotherServiceOrRegion_fails() throws Exception {
    Clock old = Clock.fixed(Instant.now().minus(Duration.ofMinutes(6)), ZoneOffset.UTC);
    assertError(xks.withCredentials(AKID_A, SECRET_A).signedAt(old).post("/health", HEALTH), 401,
        "AuthenticationFailedException");
    assertError(xks.withScope("us-east-1", "kms").post("/health", HEALTH), 401, "AuthenticationFailedException");
    assertError(xks.withScope("eu-west-1", "kms-xks-proxy").post("/health", HEALTH), 401,
        "AuthenticationFailedException");
  }

  @Test
  void bothCredentialsOfARotation_areAccepted() throws Exception {
    assertEquals(200, xks.post("/health", HEALTH).status());
    assertEquals(200, xks.withCredentials(AKID_B, SECRET_B).post("/health", HEALTH).status());
  }

  // ---- GetKeyMetadata

  @Test
  void metadata_ofAGatewayKey_forTwoKmsOperations() throws Exception {
    for (String op : List.of("CreateKey", "DescribeKey")) {
      XksClient.Response r = xks.post("/keys/" + managed.keyId() + "/metadata", "{" + metadata(op) + "}");
      assertEquals(200, r.status(), r.raw());
      assertEquals("AES_256", r.string("keySpec"));
      assertEquals(List.of("ENCRYPT", "DECRYPT"), r.json().get("keyUsage"));
      assertEquals("ENABLED", r.string("keyStatus"));
    }
  }

  @Test
  void metadata_byAliasName_andOfADisabledKey() throws Exception {
    assertEquals("ENABLED", xks.post("/keys/payments-key/metadata", "{" + metadata("CreateKey") + "}")
        .string("keyStatus"));
    assertEquals("DISABLED", xks.post("/keys/" + disabled.keyId() + "/metadata", "{" + metadata("CreateKey") + "}")
        .string("keyStatus"));
  }

  @Test
  void metadata_reportsTheHsmObjectsUsageAttributes() throws Exception {
    assertEquals(List.of("ENCRYPT", "DECRYPT"), xks.post("/keys/xks-both/metadata", "{" + metadata("CreateKey") + "}")
        .json().get("keyUsage"));
    assertEquals(List.of("ENCRYPT"), xks.post("/keys/xks-encrypt-only/metadata", "{" + metadata("CreateKey") + "}")
        .json().get("keyUsage"));
    assertEquals(List.of("DECRYPT"), xks.post("/keys/xks-decrypt-only/metadata", "{" + metadata("CreateKey") + "}")
        .json().get("keyUsage"));
    assertEquals(List.of(), xks.post("/keys/xks-no-usage/metadata", "{" + metadata("CreateKey") + "}")
        .json().get("keyUsage"));
    assertEquals("AES_128", xks.post("/keys/xks-aes128/metadata", "{" + metadata("CreateKey") + "}")
        .string("keySpec"));
  }

  @Test
  void metadata_validationErrors() throws Exception {
    assertError(xks.post("/keys/xks-both/metadata", "{}"), 400, "ValidationException");
    assertError(xks.post("/keys/xks-both/metadata", "{\"requestMetadata\":{}}"), 400, "ValidationException");
    assertError(xks.post("/keys/xks-both/metadata", "{\"requestMetadata\":{\"kmsOperation\":\"CreateKey\","
        + "\"kmsRequestId\":\"x\"}}"), 400, "ValidationException");
    assertError(xks.post("/keys/xks-both/metadata", "{\"requestMetadata\":{\"awsPrincipalArn\":\"a\","
        + "\"kmsRequestId\":\"x\"}}"), 400, "ValidationException");
    assertError(xks.post("/keys/xks-both/metadata", "{\"requestMetadata\":{\"awsPrincipalArn\":\"a\","
        + "\"kmsOperation\":\"CreateKey\"}}"), 400, "ValidationException");
    assertError(xks.post("/keys/xks-both/metadata", "not json"), 400, "ValidationException");
    assertError(xks.post("/keys/xks-both/metadata", ""), 400, "ValidationException");
  }

  @Test
  void metadata_ofAnUnknownOrUnexposedKey_isKeyNotFound() throws Exception {
    assertError(xks.post("/keys/no-such-key/metadata", "{" + metadata("CreateKey") + "}"), 404,
        "KeyNotFoundException");
    assertError(xks.post("/keys/not-exposed/metadata", "{" + metadata("CreateKey") + "}"), 404,
        "KeyNotFoundException");
    assertError(xks.post("/keys/" + java.util.UUID.randomUUID() + "/metadata", "{" + metadata("CreateKey") + "}"),
        404, "KeyNotFoundException");
    assertError(xks.post("/keys/xks-missing/metadata", "{" + metadata("CreateKey") + "}"), 404,
        "KeyNotFoundException");
  }

  @Test
  void metadata_authFailuresAndBadPrefix() throws Exception {
    String body = "{" + metadata("CreateKey") + "}";
    assertError(xks.withCredentials("AAAAAAAAAAAAAAAAAAAAAAAA", SECRET_A).post("/keys/xks-both/metadata", body), 401,
        "AuthenticationFailedException");
    assertError(xks.withCredentials(AKID_A, SECRET_B).post("/keys/xks-both/metadata", body), 401,
        "AuthenticationFailedException");
    assertError(xks.withBase(URI.create(root + "/test/ks2")).post("/keys/xks-both/metadata", body), 404,
        "InvalidUriPathException");
    assertError(xks.post("/keys/xks-both/other", body), 404, "InvalidUriPathException");
  }

  // ---- Encrypt and Decrypt

  @Test
  void encryptDecrypt_roundTrips_withAndWithoutAad_onEveryKindOfKey() throws Exception {
    for (String key : List.of(managed.keyId().toString(), "payments-key", "xks-both")) {
      for (byte[] aad : new byte[][] {null, "project=nile".getBytes()}) {
        byte[] plaintext = ("data key for " + key).getBytes();
        XksClient.Response enc = xks.post("/keys/" + key + "/encrypt", encryptBody(plaintext, aad, false));
        assertEquals(200, enc.status(), enc.raw());
        assertEquals(plaintext.length, D64.decode(enc.string("ciphertext")).length);
        assertEquals(12, D64.decode(enc.string("initializationVector")).length);
        assertEquals(16, D64.decode(enc.string("authenticationTag")).length);
        assertNull(enc.json().get("ciphertextDataIntegrityValue"));
        XksClient.Response dec = xks.post("/keys/" + key + "/decrypt", decryptBody(enc, aad));
        assertEquals(200, dec.status(), dec.raw());
        assertArrayEquals(plaintext, D64.decode(dec.string("plaintext")));
      }
    }
  }

  @Test
  void encrypt_gatewayKeysCarryTheirVersion_labelledKeysNoMetadata() throws Exception {
    XksClient.Response enc = xks.post("/keys/" + managed.keyId() + "/encrypt", encryptBody(new byte[] {1}, null, false));
    assertArrayEquals(new byte[] {2, 0, 0, 0, 1}, D64.decode(enc.string("ciphertextMetadata")));
    assertNull(xks.post("/keys/xks-both/encrypt", encryptBody(new byte[] {1}, null, false)).json()
        .get("ciphertextMetadata"));
  }

  @Test
  void integrityValue_isTheSha256OfTheFields_withAndWithoutAad() throws Exception {
    for (String key : List.of(managed.keyId().toString(), "xks-both")) {
      for (byte[] aad : new byte[][] {null, "aad".getBytes()}) {
        XksClient.Response enc = xks.post("/keys/" + key + "/encrypt", encryptBody("secret".getBytes(), aad, true));
        assertEquals(200, enc.status(), enc.raw());
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        if (aad != null) {
          md.update(aad);
        }
        if (enc.string("ciphertextMetadata") != null) {
          md.update(D64.decode(enc.string("ciphertextMetadata")));
        }
        md.update(D64.decode(enc.string("initializationVector")));
        md.update(D64.decode(enc.string("ciphertext")));
        md.update(D64.decode(enc.string("authenticationTag")));
        assertEquals(B64.encodeToString(md.digest()), enc.string("ciphertextDataIntegrityValue"));
      }
    }
  }

  @Test
  void encrypt_withCdiv_onAnEncryptOnlyKey_isInvalidKeyUsage_withAndWithoutAad() throws Exception {
    // public XKS test client: "Encrypt with AAD and CDIV", "Encrypt with CDIV but without AAD" on an encrypt-only key
    for (byte[] aad : new byte[][] {null, "aad".getBytes()}) {
      assertError(xks.post("/keys/xks-encrypt-only/encrypt", encryptBody("secret".getBytes(), aad, true)), 400,
          "InvalidKeyUsageException");
    }
    assertEquals(200, xks.post("/keys/xks-encrypt-only/encrypt", encryptBody("x".getBytes(), "aad".getBytes(), false))
        .status());
  }

  @Test
  void encrypt_onADecryptOnlyKey_isInvalidKeyUsage_withAad_withAadAndCdiv_andWithCdivAlone() throws Exception {
    assertError(xks.post("/keys/xks-decrypt-only/encrypt", encryptBody("x".getBytes(), "aad".getBytes(), false)), 400,
        "InvalidKeyUsageException");
    assertError(xks.post("/keys/xks-decrypt-only/encrypt", encryptBody("x".getBytes(), "aad".getBytes(), true)), 400,
        "InvalidKeyUsageException");
    assertError(xks.post("/keys/xks-decrypt-only/encrypt", encryptBody("x".getBytes(), null, true)), 400,
        "InvalidKeyUsageException");
  }

  @Test
  void decrypt_withOtherAad_orMissingAad_isInvalidCiphertext() throws Exception {
    for (String key : List.of(managed.keyId().toString(), "xks-both")) {
      byte[] aad = "project=nile".getBytes();
      XksClient.Response enc = xks.post("/keys/" + key + "/encrypt", encryptBody("x".getBytes(), aad, false));
      assertError(xks.post("/keys/" + key + "/decrypt", decryptBody(enc, "project=amazon".getBytes())), 400,
          "InvalidCiphertextException");
      assertError(xks.post("/keys/" + key + "/decrypt", decryptBody(enc, null)), 400, "InvalidCiphertextException");
    }
  }

  @Test
  void decrypt_withTamperedOrMovedMetadata_isInvalidCiphertext() throws Exception {
    XksClient.Response enc = xks.post("/keys/" + managed.keyId() + "/encrypt", encryptBody("x".getBytes(), null, false));
    String md = enc.string("ciphertextMetadata");
    String ct = enc.string("ciphertext");
    String iv = enc.string("initializationVector");
    String tag = enc.string("authenticationTag");
    // the spec's example: the metadata passed as AAD, and no metadata
    assertError(xks.post("/keys/" + managed.keyId() + "/decrypt", decryptBody(ct, null, D64.decode(md), iv, tag)),
        400, "InvalidCiphertextException");
    assertError(xks.post("/keys/" + managed.keyId() + "/decrypt", decryptBody(ct, B64.encodeToString(
        new byte[] {1, 0, 0, 0, 9}), null, iv, tag)), 400, "InvalidCiphertextException");
    assertError(xks.post("/keys/" + managed.keyId() + "/decrypt", decryptBody(ct, "AQ==", null, iv, tag)),
        400, "InvalidCiphertextException");
    byte[] badTag = D64.decode(tag);
    badTag[0] ^= 1;
    assertError(xks.post("/keys/" + managed.keyId() + "/decrypt", decryptBody(ct, md, null, iv,
        B64.encodeToString(badTag))), 400, "InvalidCiphertextException");
    assertError(xks.post("/keys/" + managed.keyId() + "/decrypt", decryptBody(ct, md, null, iv, "AAAA")), 400,
        "InvalidCiphertextException");
  }

  @Test
  void base64_unpaddedOrWithNonZeroTrailingBits_isRefused() throws Exception {
    String encrypt = "{" + metadata("Encrypt") + ",\"encryptionAlgorithm\":\"AES_GCM\",\"plaintext\":\"";
    assertEquals(200, xks.post("/keys/xks-both/encrypt", encrypt + "AQ==\"}").status());
    assertError(xks.post("/keys/xks-both/encrypt", encrypt + "AQ\"}"), 400, "ValidationException");
    assertError(xks.post("/keys/xks-both/encrypt", encrypt + "AR==\"}"), 400, "ValidationException");
    assertError(xks.post("/keys/xks-both/encrypt", encrypt + "AQ==\",\"additionalAuthenticatedData\":\"YWE\"}"), 400,
        "ValidationException");
    XksClient.Response enc = xks.post("/keys/xks-both/encrypt", encryptBody("x".getBytes(), null, false));
    String iv = enc.string("initializationVector");
    String tag = enc.string("authenticationTag");
    String ct = enc.string("ciphertext");
    assertEquals(200, xks.post("/keys/xks-both/decrypt", decryptBody(ct, null, null, iv, tag)).status());
    // a 12-byte IV is 16 characters with no padding; a 16-byte tag ends in "=="
    assertError(xks.post("/keys/xks-both/decrypt", decryptBody(ct, null, null, iv, tag.substring(0, 22))), 400,
        "InvalidCiphertextException");
    // the last character of a 16-byte value carries 2 bits and 4 zero bits: A, Q, g or w; the next one sets a zero bit
    String lastBitsSet = tag.substring(0, 21) + (char) (tag.charAt(21) + 1) + "==";
    assertError(xks.post("/keys/xks-both/decrypt", decryptBody(ct, null, null, iv, lastBitsSet)), 400,
        "InvalidCiphertextException");
  }

  @Test
  void fourKibPlaintext_withEightKibAad_roundTrips() throws Exception {
    byte[] plaintext = new byte[4300];
    byte[] aad = new byte[8192];
    new java.util.Random(1).nextBytes(plaintext);
    new java.util.Random(2).nextBytes(aad);
    for (String key : List.of(managed.keyId().toString(), "xks-both")) {
      XksClient.Response enc = xks.post("/keys/" + key + "/encrypt", encryptBody(plaintext, aad, true));
      assertEquals(200, enc.status(), enc.raw());
      XksClient.Response dec = xks.post("/keys/" + key + "/decrypt", decryptBody(enc, aad));
      assertArrayEquals(plaintext, D64.decode(dec.string("plaintext")));
    }
  }

  @Test
  void encryptDecrypt_unknownKey_missingPlaintext_authFailures_badPrefix() throws Exception {
    String body = encryptBody("x".getBytes(), null, false);
    assertError(xks.post("/keys/no-such-key/encrypt", body), 404, "KeyNotFoundException");
    assertError(xks.post("/keys/no-such-key/decrypt", decryptBody("AAAA", null, null, "AAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAA==")), 404, "KeyNotFoundException");
    assertError(xks.post("/keys/xks-both/encrypt", "{" + metadata("Encrypt") + ",\"encryptionAlgorithm\":\"AES_GCM\"}"),
        400, "ValidationException");
    assertError(xks.post("/keys/xks-both/encrypt", "{" + metadata("Encrypt") + ",\"plaintext\":\"AA==\","
        + "\"encryptionAlgorithm\":\"RSAES_OAEP_SHA_256\"}"), 400, "ValidationException");
    assertError(xks.withCredentials(AKID_B, SECRET_A).post("/keys/xks-both/encrypt", body), 401,
        "AuthenticationFailedException");
    XksClient.Response enc = xks.post("/keys/xks-both/encrypt", body);
    assertEquals(200, enc.status(), enc.raw());
    String decrypt = decryptBody(enc, null);
    assertEquals(200, xks.post("/keys/xks-both/decrypt", decrypt).status());
    assertError(xks.withCredentials("AAAAAAAAAAAAAAAAAAAAAAAA", SECRET_A).post("/keys/xks-both/decrypt", decrypt), 401,
        "AuthenticationFailedException");
    assertError(xks.withCredentials(AKID_A, SECRET_B).post("/keys/xks-both/decrypt", decrypt), 401,
        "AuthenticationFailedException");
    assertError(xks.withBase(URI.create(root + "/wrong")).post("/keys/xks-both/encrypt", body), 404,
        "InvalidUriPathException");
    assertError(xks.withBase(URI.create(root + "/wrong")).post("/keys/xks-both/decrypt", decrypt), 404,
        "InvalidUriPathException");
  }

  @Test
  void keysWithoutTheUsage_areInvalidKeyUsage() throws Exception {
    XksClient.Response enc = xks.post("/keys/xks-encrypt-only/encrypt", encryptBody("x".getBytes(), null, false));
    assertEquals(200, enc.status(), enc.raw());
    assertError(xks.post("/keys/xks-encrypt-only/decrypt", decryptBody(enc, null)), 400, "InvalidKeyUsageException");
    assertError(xks.post("/keys/xks-decrypt-only/encrypt", encryptBody("x".getBytes(), null, false)), 400,
        "InvalidKeyUsageException");
    assertError(xks.post("/keys/xks-no-usage/encrypt", encryptBody("x".getBytes(), null, false)), 400,
        "InvalidKeyUsageException");
    assertError(xks.post("/keys/xks-no-usage/decrypt", decryptBody(enc, null)), 400, "InvalidKeyUsageException");
    assertError(xks.post("/keys/xks-aes128/encrypt", encryptBody("x".getBytes(), null, false)), 501,
        "UnsupportedOperationException");
  }

  @Test
  void aLabelledKeyDestroyedInTheHsmAfterUse_isKeyNotFound_notInternal() throws Exception {
    XksClient.Response enc = xks.post("/keys/xks-doomed/encrypt", encryptBody("x".getBytes(), null, false));
    assertEquals(200, enc.status(), enc.raw());
    TestKeys.destroy(fx.keyStore.hsm(ErrorCode.KMS_INTERNAL), "xks-doomed");
    assertError(xks.post("/keys/xks-doomed/encrypt", encryptBody("x".getBytes(), null, false)), 404,
        "KeyNotFoundException");
    assertError(xks.post("/keys/xks-doomed/decrypt", decryptBody(enc, null)), 404, "KeyNotFoundException");
  }

  @Test
  void aLabelledKeyWhoseUsageAnOperatorTurnedOff_isInvalidKeyUsage_notInternal() throws Exception {
    XksClient.Response enc = xks.post("/keys/xks-revoked/encrypt", encryptBody("x".getBytes(), null, false));
    assertEquals(200, enc.status(), enc.raw());
    assertEquals(200, xks.post("/keys/xks-revoked/decrypt", decryptBody(enc, null)).status());
    TestKeys.setUsage(fx.keyStore.hsm(ErrorCode.KMS_INTERNAL), "xks-revoked", false, false);
    // the connection's session copies of token keys keep the attributes they were copied with: reconnect, as a
    // restart or an HSM failover would, so that the HSM sees the new attributes while the gateway's reading is old
    fx.keyStore.disconnect().get(30, TimeUnit.SECONDS);
    fx.keyStore.connect();
    assertTrue(fx.keyStore.awaitConnected(Duration.ofSeconds(30)), fx.keyStore.status().toString());
    assertError(xks.post("/keys/xks-revoked/encrypt", encryptBody("x".getBytes(), null, false)), 400,
        "InvalidKeyUsageException");
    assertError(xks.post("/keys/xks-revoked/decrypt", decryptBody(enc, null)), 400, "InvalidKeyUsageException");
    assertEquals(List.of(), xks.post("/keys/xks-revoked/metadata", "{" + metadata("CreateKey") + "}").json()
        .get("keyUsage"));
  }

  @Test
  void aDisabledGatewayKey_isInvalidState() throws Exception {
    assertError(xks.post("/keys/" + disabled.keyId() + "/encrypt", encryptBody("x".getBytes(), null, false)), 400,
        "InvalidStateException");
  }

  @Test
  void afterARotation_oldCiphertextDecrypts_andNewOnesUseTheNewVersion() throws Exception {
    XksClient local = xks;
    XksClient.Response before = local.post("/keys/" + rotating.keyId() + "/encrypt", encryptBody("old".getBytes(),
        null, false));
    KmsFixture.await(fx.lifecycle.rotateOnDemand(KmsFixture.ROOT, rotating.keyId()));
    XksClient.Response after = local.post("/keys/" + rotating.keyId() + "/encrypt", encryptBody("new".getBytes(),
        null, false));
    assertNotEquals(before.string("ciphertextMetadata"), after.string("ciphertextMetadata"));
    assertEquals("old", new String(D64.decode(local.post("/keys/" + rotating.keyId() + "/decrypt",
        decryptBody(before, null)).string("plaintext"))));
    assertEquals("new", new String(D64.decode(local.post("/keys/" + rotating.keyId() + "/decrypt",
        decryptBody(after, null)).string("plaintext"))));
  }

  @Test
  void tooMuchData_isUnsupportedOperation() throws Exception {
    assertError(xks.post("/keys/xks-both/encrypt", encryptBody(new byte[70_000], null, false)), 501,
        "UnsupportedOperationException");
  }

  // ---- secondary authorization

  @Test
  void policy_allowsThePrincipalItNames_andDeniesOthers() throws Exception {
    assertEquals(200, guarded.post("/keys/xks-both/metadata", "{" + metadata("CreateKey") + "}").status());
    String bob = "{" + metadata("CreateKey").replace("user/Alice", "user/Bob") + "}";
    assertError(guarded.post("/keys/xks-both/metadata", bob), 403, "AccessDeniedException");
    XksClient.Response enc = guarded.post("/keys/xks-both/encrypt", encryptBody("x".getBytes(), null, false));
    assertEquals(200, enc.status(), enc.raw());
    String viaEbs = decryptBody(enc, null).replace("\"kmsRequestId\"", "\"kmsViaService\":\"ebs\",\"kmsRequestId\"");
    assertError(guarded.post("/keys/xks-both/decrypt", viaEbs), 403, "AccessDeniedException");
    assertEquals(200, guarded.post("/keys/xks-both/decrypt", decryptBody(enc, null)).status());
  }
}
