package io.kmsgw.api.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.kms.model.RequestValidator;
import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Requests checked against the KMS service model: the limits are the model's, not ours. */
class RequestValidationTest {
  private static final ServiceModel MODEL = ServiceModel.kms();
  private final RequestValidator validator = new RequestValidator(MODEL);

  private Map<String, Object> validate(String shape, String json) {
    return validator.validate(shape, JsonBody.parseObject(json.getBytes(StandardCharsets.UTF_8)));
  }

  private KmsException refused(ErrorCode code, String shape, String json) {
    KmsException e = assertThrows(KmsException.class, () -> validate(shape, json));
    assertEquals(code, e.code(), e.getMessage());
    return e;
  }

  private static String b64(int n) {
    return Base64.getEncoder().encodeToString(new byte[n]);
  }

  @Test
  void model_hasTheOperationsOfTheKmsApi() {
    assertEquals(54, MODEL.operations().size());
    assertEquals("TrentService", MODEL.targetPrefix());
    assertEquals("EncryptRequest", MODEL.operation("Encrypt").orElseThrow().input());
  }

  @Test
  void encrypt_withPlaintextOf4096Bytes_isAccepted() {
    Map<String, Object> in = validate("EncryptRequest", "{\"KeyId\":\"k\",\"Plaintext\":\"" + b64(4096) + "\"}");
    assertArrayEquals(new byte[4096], (byte[]) in.get("Plaintext"));
  }

  @Test
  void encrypt_withPlaintextOf4097Bytes_failsValidationNamingTheField() {
    KmsException e = refused(ErrorCode.VALIDATION, "EncryptRequest",
        "{\"KeyId\":\"k\",\"Plaintext\":\"" + b64(4097) + "\"}");
    assertTrue(e.getMessage().contains("'plaintext'"), e.getMessage());
    assertTrue(e.getMessage().contains("less than or equal to 4096"), e.getMessage());
  }

  @Test
  void encrypt_withEmptyPlaintext_failsValidation() {
    refused(ErrorCode.VALIDATION, "EncryptRequest", "{\"KeyId\":\"k\",\"Plaintext\":\"\"}");
  }

  @Test
  void encrypt_withoutRequiredMembers_reportsEachOfThem() {
    KmsException e = refused(ErrorCode.VALIDATION, "EncryptRequest", "{}");
    assertTrue(e.getMessage().startsWith("2 validation errors detected"), e.getMessage());
    assertTrue(e.getMessage().contains("'keyId'") && e.getMessage().contains("'plaintext'"), e.getMessage());
  }

  @Test
  void encrypt_withKeyIdLongerThan2048_failsValidation() {
    refused(ErrorCode.VALIDATION, "EncryptRequest",
        "{\"KeyId\":\"" + "k".repeat(2049) + "\",\"Plaintext\":\"AA==\"}");
  }

  @Test
  void encrypt_withNullMember_treatsItAsAbsent() {
    refused(ErrorCode.VALIDATION, "EncryptRequest", "{\"KeyId\":null,\"Plaintext\":\"AA==\"}");
  }

  @Test
  void encrypt_withUnknownAlgorithm_failsValidation() {
    refused(ErrorCode.VALIDATION, "EncryptRequest",
        "{\"KeyId\":\"k\",\"Plaintext\":\"AA==\",\"EncryptionAlgorithm\":\"AES_ECB\"}");
  }

  @Test
  void encrypt_withInvalidBase64_failsSerialization() {
    refused(ErrorCode.SERIALIZATION, "EncryptRequest", "{\"KeyId\":\"k\",\"Plaintext\":\"not base64!\"}");
  }

  @Test
  void encrypt_withNumberWhereStringExpected_failsSerialization() {
    refused(ErrorCode.SERIALIZATION, "EncryptRequest", "{\"KeyId\":5,\"Plaintext\":\"AA==\"}");
  }

  @Test
  void encrypt_withContextValueNotAString_failsSerialization() {
    refused(ErrorCode.SERIALIZATION, "EncryptRequest",
        "{\"KeyId\":\"k\",\"Plaintext\":\"AA==\",\"EncryptionContext\":{\"a\":1}}");
  }

  @Test
  void encrypt_withUnknownMember_ignoresIt() {
    Map<String, Object> in = validate("EncryptRequest", "{\"KeyId\":\"k\",\"Plaintext\":\"AA==\",\"Future\":true}");
    assertFalse(in.containsKey("Future"));
  }

  @Test
  void encrypt_withElevenGrantTokens_failsValidation() {
    String tokens = String.join(",", java.util.Collections.nCopies(11, "\"t\""));
    refused(ErrorCode.VALIDATION, "EncryptRequest",
        "{\"KeyId\":\"k\",\"Plaintext\":\"AA==\",\"GrantTokens\":[" + tokens + "]}");
  }

  @Test
  void generateDataKey_numberOfBytesOutOfRange_failsValidation() {
    refused(ErrorCode.VALIDATION, "GenerateDataKeyRequest", "{\"KeyId\":\"k\",\"NumberOfBytes\":0}");
    refused(ErrorCode.VALIDATION, "GenerateDataKeyRequest", "{\"KeyId\":\"k\",\"NumberOfBytes\":1025}");
    assertEquals(1024, validate("GenerateDataKeyRequest", "{\"KeyId\":\"k\",\"NumberOfBytes\":1024}")
        .get("NumberOfBytes"));
  }

  @Test
  void generateDataKey_fractionalOrHugeNumber_failsSerialization() {
    refused(ErrorCode.SERIALIZATION, "GenerateDataKeyRequest", "{\"KeyId\":\"k\",\"NumberOfBytes\":1.5}");
    refused(ErrorCode.SERIALIZATION, "GenerateDataKeyRequest", "{\"KeyId\":\"k\",\"NumberOfBytes\":99999999999}");
  }

  @Test
  void hugeExponent_failsSerializationQuickly() {
    long start = System.nanoTime();
    for (String n : List.of("1e30000000", "-1e30000000", "1e-30000000", "123456789e300000000")) {
      refused(ErrorCode.SERIALIZATION, "GenerateDataKeyRequest", "{\"KeyId\":\"k\",\"NumberOfBytes\":" + n + "}");
    }
    assertTrue(System.nanoTime() - start < 1_000_000_000L, "must not burn event-loop time on big exponents");
  }

  @Test
  void wholeNumberWrittenWithExponent_isAccepted() {
    assertEquals(32, validate("GenerateDataKeyRequest", "{\"KeyId\":\"k\",\"NumberOfBytes\":3.2e1}")
        .get("NumberOfBytes"));
  }

  @Test
  void listKeys_markerOutsideLatin1_failsValidation() {
    refused(ErrorCode.VALIDATION, "ListKeysRequest", "{\"Marker\":\"\\u0100\"}");
  }

  @Test
  void createKey_tagWithoutValue_failsValidationWithItsPath() {
    KmsException e = refused(ErrorCode.VALIDATION, "CreateKeyRequest", "{\"Tags\":[{\"TagKey\":\"a\"}]}");
    assertTrue(e.getMessage().contains("tags.1.member.tagValue"), e.getMessage());
  }

  @Test
  void createKey_tagsBecomeStructures() {
    Map<String, Object> in = validate("CreateKeyRequest", "{\"Tags\":[{\"TagKey\":\"a\",\"TagValue\":\"\"}]}");
    assertEquals(List.of(Map.of("TagKey", "a", "TagValue", "")), in.get("Tags"));
  }

  @Test
  void createKey_policyWithCharacterOutsideThePattern_failsValidation() {
    refused(ErrorCode.VALIDATION, "CreateKeyRequest", "{\"Policy\":\"\\u0001\"}");
  }

  @Test
  void validationMessages_neverEchoTheValue() {
    KmsException e = refused(ErrorCode.VALIDATION, "EncryptRequest",
        "{\"KeyId\":\"k\",\"Plaintext\":\"" + b64(5000) + "\"}");
    assertFalse(e.getMessage().contains("AAAA"), e.getMessage());
  }

  @Test
  void body_withDuplicateMember_failsSerialization() {
    KmsException e = assertThrows(KmsException.class, () -> JsonBody.parseObject(
        "{\"KeyId\":\"a\",\"KeyId\":\"b\"}".getBytes(StandardCharsets.UTF_8)));
    assertEquals(ErrorCode.SERIALIZATION, e.code());
  }

  @Test
  void body_thatIsNotAnObject_failsSerialization() {
    for (String s : List.of("[]", "\"x\"", "1", "{", "{\"a\":1} x", "{\"a\":}", "nul")) {
      KmsException e = assertThrows(KmsException.class,
          () -> JsonBody.parseObject(s.getBytes(StandardCharsets.UTF_8)), s);
      assertEquals(ErrorCode.SERIALIZATION, e.code(), s);
    }
  }

  @Test
  void body_nestedTooDeep_failsSerialization() {
    String deep = "{\"a\":" + "[".repeat(100) + "]".repeat(100) + "}";
    KmsException e = assertThrows(KmsException.class,
        () -> JsonBody.parseObject(deep.getBytes(StandardCharsets.UTF_8)));
    assertEquals(ErrorCode.SERIALIZATION, e.code());
  }

  @Test
  void body_empty_isAnEmptyObject() {
    assertTrue(JsonBody.parseObject(new byte[0]).isEmpty());
  }
}
