package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.CreateKeyResponse;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.DryRunOperationException;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.IncorrectKeyException;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;
import software.amazon.awssdk.services.kms.model.KeyListEntry;
import software.amazon.awssdk.services.kms.model.KeyMetadata;
import software.amazon.awssdk.services.kms.model.KeySpec;
import software.amazon.awssdk.services.kms.model.KeyState;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.NotFoundException;
import software.amazon.awssdk.services.kms.model.UnsupportedOperationException;

/** The real gateway process driven by the AWS SDK for Java v2, as an application would use it. */
class KmsSdkIT {
  private static GatewayProcess gateway;
  private static KmsClient kms;
  private static String keyId;
  private static String keyArn;
  private static final Map<String, String> CONTEXT = Map.of("tenant", "acme", "purpose", "it");

  @BeforeAll
  static void start() {
    gateway = GatewayProcess.start("sdk");
    kms = gateway.client();
    CreateKeyResponse created = kms.createKey(r -> r.description("integration test key"));
    keyId = created.keyMetadata().keyId();
    keyArn = created.keyMetadata().arn();
  }

  @AfterAll
  static void stop() {
    if (kms != null) {
      kms.close();
    }
    if (gateway != null) {
      gateway.stop();
    }
  }

  private static SdkBytes bytes(String s) {
    return SdkBytes.fromString(s, StandardCharsets.UTF_8);
  }

  private static void assertAwsError(String code, Executable call) {
    KmsException e = assertThrows(KmsException.class, call);
    assertEquals(code, e.awsErrorDetails().errorCode(), e.getMessage());
    assertNotNull(e.requestId(), "every error carries x-amzn-RequestId");
  }

  @Test
  void createKey_reportsTheMetadataOfASymmetricHsmKey() {
    KeyMetadata m = kms.describeKey(r -> r.keyId(keyId)).keyMetadata();
    assertEquals(keyId, m.keyId());
    assertEquals("arn:aws:kms:us-east-1:111122223333:key/" + keyId, m.arn());
    assertEquals(GatewayProcess.ACCOUNT, m.awsAccountId());
    assertEquals(KeyState.ENABLED, m.keyState());
    assertTrue(m.enabled());
    assertEquals(KeySpec.SYMMETRIC_DEFAULT, m.keySpec());
    assertEquals("ENCRYPT_DECRYPT", m.keyUsageAsString());
    assertEquals("AWS_KMS", m.originAsString());
    assertEquals("CUSTOMER", m.keyManagerAsString());
    assertEquals("integration test key", m.description());
    assertEquals(java.util.List.of("SYMMETRIC_DEFAULT"), m.encryptionAlgorithmsAsStrings());
    assertFalse(m.multiRegion());
    assertNotNull(m.creationDate());
  }

  @Test
  void describeKey_byArn_findsTheKey() {
    assertEquals(keyId, kms.describeKey(r -> r.keyId(keyArn)).keyMetadata().keyId());
  }

  @Test
  void listKeys_pagesWithMarkers() {
    for (int i = 0; i < 3; i++) {
      kms.createKey(r -> r.description("for listing"));
    }
    Set<String> ids = new HashSet<>();
    for (KeyListEntry e : kms.listKeysPaginator(r -> r.limit(2)).keys()) {
      assertTrue(ids.add(e.keyId()), "listed twice: " + e.keyId());
      assertEquals("arn:aws:kms:us-east-1:111122223333:key/" + e.keyId(), e.keyArn());
    }
    assertTrue(ids.contains(keyId));
    assertTrue(ids.size() >= 4);
  }

  @Test
  void encryptDecrypt_withContext_roundTripsWithAndWithoutKeyId() {
    EncryptResponse enc = kms.encrypt(r -> r.keyId(keyId).plaintext(bytes("secret data")).encryptionContext(CONTEXT));
    assertEquals(keyArn, enc.keyId());
    assertEquals("SYMMETRIC_DEFAULT", enc.encryptionAlgorithmAsString());
    DecryptResponse without = kms.decrypt(r -> r.ciphertextBlob(enc.ciphertextBlob()).encryptionContext(CONTEXT));
    assertEquals("secret data", without.plaintext().asUtf8String());
    assertEquals(keyArn, without.keyId());
    DecryptResponse with = kms.decrypt(r -> r.keyId(keyArn).ciphertextBlob(enc.ciphertextBlob())
        .encryptionContext(CONTEXT));
    assertEquals("secret data", with.plaintext().asUtf8String());
  }

  @Test
  void decrypt_withWrongContext_failsInvalidCiphertext() {
    SdkBytes blob = kms.encrypt(r -> r.keyId(keyId).plaintext(bytes("x")).encryptionContext(CONTEXT)).ciphertextBlob();
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(r -> r.ciphertextBlob(blob)
        .encryptionContext(Map.of("tenant", "evil", "purpose", "it"))));
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(r -> r.ciphertextBlob(blob)));
  }

  @Test
  void decrypt_ofTamperedBlob_failsInvalidCiphertext() {
    byte[] blob = kms.encrypt(r -> r.keyId(keyId).plaintext(bytes("untouchable"))).ciphertextBlob().asByteArray();
    for (int i : new int[] {0, 10, 20, 30, 40, blob.length - 1}) {
      byte[] copy = blob.clone();
      copy[i] ^= 0x40;
      assertThrows(InvalidCiphertextException.class,
          () -> kms.decrypt(r -> r.ciphertextBlob(SdkBytes.fromByteArray(copy))), "byte " + i);
    }
  }

  @Test
  void decrypt_withAnotherKeysId_failsIncorrectKey() {
    String other = kms.createKey(r -> r.description("other")).keyMetadata().keyId();
    SdkBytes blob = kms.encrypt(r -> r.keyId(keyId).plaintext(bytes("x"))).ciphertextBlob();
    assertThrows(IncorrectKeyException.class, () -> kms.decrypt(r -> r.keyId(other).ciphertextBlob(blob)));
  }

  @Test
  void generateDataKey_returnsAKeyThatDecryptsBackUnderTheContext() {
    GenerateDataKeyResponse dk = kms.generateDataKey(r -> r.keyId(keyId).keySpec(DataKeySpec.AES_256)
        .encryptionContext(CONTEXT));
    assertEquals(32, dk.plaintext().asByteArray().length);
    assertEquals(keyArn, dk.keyId());
    assertArrayEquals(dk.plaintext().asByteArray(), kms.decrypt(r -> r.ciphertextBlob(dk.ciphertextBlob())
        .encryptionContext(CONTEXT)).plaintext().asByteArray());
    assertEquals(16, kms.generateDataKey(r -> r.keyId(keyId).keySpec(DataKeySpec.AES_128)).plaintext()
        .asByteArray().length);
    assertEquals(64, kms.generateDataKey(r -> r.keyId(keyId).numberOfBytes(64)).plaintext().asByteArray().length);
  }

  @Test
  void generateDataKey_withBothSpecAndLength_failsValidation() {
    assertAwsError("ValidationException",
        () -> kms.generateDataKey(r -> r.keyId(keyId).keySpec(DataKeySpec.AES_256).numberOfBytes(32)));
    assertAwsError("ValidationException", () -> kms.generateDataKey(r -> r.keyId(keyId)));
  }

  @Test
  void generateDataKeyWithoutPlaintext_returnsOnlyTheSealedKey() {
    var dk = kms.generateDataKeyWithoutPlaintext(r -> r.keyId(keyId).keySpec(DataKeySpec.AES_256));
    assertEquals(keyArn, dk.keyId());
    assertEquals(32, kms.decrypt(r -> r.ciphertextBlob(dk.ciphertextBlob())).plaintext().asByteArray().length);
  }

  @Test
  void generateRandom_comesFromTheHsm() {
    byte[] a = kms.generateRandom(r -> r.numberOfBytes(1024)).plaintext().asByteArray();
    assertEquals(1024, a.length);
    assertFalse(java.util.Arrays.equals(a, kms.generateRandom(r -> r.numberOfBytes(1024)).plaintext().asByteArray()));
  }

  @Test
  void encrypt_plaintextOver4096Bytes_failsValidation() {
    assertAwsError("ValidationException",
        () -> kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromByteArray(new byte[4097]))));
    assertEquals(keyArn, kms.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromByteArray(new byte[4096]))).keyId());
  }

  @Test
  void unknownKeysAndAliases_failNotFound() {
    assertThrows(NotFoundException.class,
        () -> kms.describeKey(r -> r.keyId("00000000-0000-0000-0000-000000000000")));
    assertThrows(NotFoundException.class, () -> kms.encrypt(r -> r.keyId("alias/nothing").plaintext(bytes("x"))));
  }

  @Test
  void createKey_mlDsa_failsUnsupportedOperation_noTokenHasTheMechanism() {
    assertThrows(UnsupportedOperationException.class, () -> kms.createKey(r -> r.keySpec("ML_DSA_65")
        .keyUsage("SIGN_VERIFY")));
    // a policy is accepted now, but an empty document is not a policy
    assertThrows(software.amazon.awssdk.services.kms.model.MalformedPolicyDocumentException.class,
        () -> kms.createKey(r -> r.policy("{}")));
  }

  @Test
  void operationNotImplementedYet_failsUnsupportedOperation() {
    assertThrows(UnsupportedOperationException.class, () -> kms.replicateKey(r -> r.keyId("alias/none")
        .replicaRegion("eu-west-1")));
  }

  @Test
  void dryRun_failsDryRunOperation() {
    assertThrows(DryRunOperationException.class,
        () -> kms.encrypt(r -> r.keyId(keyId).plaintext(bytes("x")).dryRun(true)));
  }

  @Test
  void wrongSecret_failsInvalidSignature_unknownKey_failsUnrecognizedClient() {
    try (KmsClient bad = gateway.client(GatewayProcess.ACCESS_KEY_ID, "not-the-secret-0000000000000000000000000")) {
      assertAwsError("InvalidSignatureException", bad::listKeys);
    }
    try (KmsClient unknown = gateway.client("AKIAUNKNOWNUNKNOWN00", GatewayProcess.SECRET)) {
      assertAwsError("UnrecognizedClientException", unknown::listKeys);
    }
  }

  @Test
  void unsignedRequest_failsMissingAuthenticationToken() throws Exception {
    RawClient.Response r = new RawClient(gateway.endpoint()).unsigned("TrentService.ListKeys", "{}");
    assertEquals(403, r.status());
    assertEquals("MissingAuthenticationTokenException", new JsonObject(r.body()).getString("__type"));
    assertNotNull(r.header("x-amzn-RequestId"));
  }

  @Test
  void malformedJson_failsSerialization() throws Exception {
    RawClient.Response r = new RawClient(gateway.endpoint()).signed("TrentService.Encrypt", "{\"KeyId\":");
    assertEquals(400, r.status());
    assertEquals("SerializationException", new JsonObject(r.body()).getString("__type"));
    assertEquals("SerializationException", r.header("x-amzn-ErrorType"));
  }

  @Test
  void unknownTarget_failsUnknownOperation() throws Exception {
    RawClient.Response r = new RawClient(gateway.endpoint()).signed("TrentService.MakeCoffee", "{}");
    assertEquals("UnknownOperationException", new JsonObject(r.body()).getString("__type"));
  }

  @Test
  void oversizedBody_isRefusedBeforeItIsRead() throws Exception {
    RawClient.Response r = new RawClient(gateway.endpoint()).signed("TrentService.Encrypt", new byte[300 * 1024]);
    assertEquals(413, r.status());
    assertEquals("RequestEntityTooLargeException", new JsonObject(r.body()).getString("__type"));
  }

  @Test
  void validationError_namesTheFieldAndNeverEchoesTheValue() throws Exception {
    String plaintext = Base64.getEncoder().encodeToString("SECRET-MARKER".repeat(400).getBytes(StandardCharsets.UTF_8));
    RawClient.Response r = new RawClient(gateway.endpoint()).signed("TrentService.Encrypt",
        "{\"KeyId\":\"" + keyId + "\",\"Plaintext\":\"" + plaintext + "\"}");
    JsonObject body = new JsonObject(r.body());
    assertEquals("ValidationException", body.getString("__type"));
    assertTrue(body.getString("message").contains("plaintext"), body.getString("message"));
    assertFalse(r.body().contains(plaintext.substring(0, 20)));
  }

  @Test
  void steadyStateRequests_openNoSessionAndFindNoObject() throws Exception {
    RawClient raw = new RawClient(gateway.endpoint());
    kms.encrypt(r -> r.keyId(keyId).plaintext(bytes("warm-up")));
    JsonObject before = new JsonObject(raw.healthDetail().body()).getJsonObject("pkcs11Calls");
    for (int i = 0; i < 50; i++) {
      SdkBytes blob = kms.encrypt(r -> r.keyId(keyId).plaintext(bytes("steady"))).ciphertextBlob();
      kms.decrypt(r -> r.ciphertextBlob(blob));
      kms.generateDataKey(r -> r.keyId(keyId).keySpec(DataKeySpec.AES_256));
    }
    JsonObject after = new JsonObject(raw.healthDetail().body()).getJsonObject("pkcs11Calls");
    assertEquals(before, after, "C_OpenSession, C_Login and C_FindObjects counts must not move in steady state");
  }

  @Test
  void healthzDetail_reportsTheKeyStoreItsPoolAndTheAuditTrail() throws Exception {
    RawClient.Response r = new RawClient(gateway.endpoint()).healthDetail();
    assertEquals(200, r.status());
    JsonObject h = new JsonObject(r.body());
    assertEquals("CONNECTED", h.getString("state"));
    int cores = Runtime.getRuntime().availableProcessors();
    assertEquals(Math.max(2, 2 * cores), h.getJsonObject("pool").getInteger("size"), "SoftHSM2 default: two per core");
    assertEquals(1L, h.getJsonObject("pkcs11Calls").getLong("C_Login"));
    JsonObject audit = h.getJsonObject("audit");
    assertEquals("WRITABLE", audit.getString("state"));
    assertEquals(0L, audit.getLong("failedWrites"));
    // the slow writes by milliseconds (over 10 ms), not the count of writes: that would be the request volume
    assertEquals(List.of("20", "50", "100", "200", "500", "1000", "+Inf"),
        List.copyOf(audit.getJsonObject("slowWriteMillis").fieldNames()), audit.encode());
    assertFalse(audit.containsKey("fsyncs"), audit.encode());
  }

  @Test
  void requestLog_hasOneLinePerRequestAndNoSecrets() {
    kms.encrypt(r -> r.keyId(keyId).plaintext(bytes("LOG-CANARY-PLAINTEXT")));
    GatewayProcess.sleep(300);
    String log = gateway.logText();
    assertTrue(log.contains("op=Encrypt status=200 outcome=ok key=" + keyArn), "request line missing");
    assertFalse(log.contains("LOG-CANARY-PLAINTEXT"));
    assertFalse(log.contains(Base64.getEncoder().encodeToString("LOG-CANARY-PLAINTEXT".getBytes())));
    assertFalse(log.contains(GatewayProcess.SECRET), "the admin secret must never be logged");
  }
}
