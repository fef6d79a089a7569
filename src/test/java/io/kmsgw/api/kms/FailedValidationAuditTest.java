package io.kmsgw.api.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.audit.AuditEvent;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/**
 * Issue #15 item 8: a value that failed validation reaches the audit trail as its length and a keyed hash, never
 * verbatim (a careless client's plaintext put in KeyId must not land on disk).
 */
class FailedValidationAuditTest {
  private static final Caller ROOT = new Caller("arn:aws:iam::111122223333:root", "111122223333", "111122223333",
      "AKIA", "Root").in(new Caller.Scope("10.0.0.1", null, null, true));
  private static final String SECRET = "correct horse battery staple, the payroll password ";

  private final KmsApi api = new KmsApi(ServiceModel.kms(), List.of(new OperationHandler() {
    @Override
    public String name() {
      return "Encrypt";
    }

    @Override
    public CompletableFuture<Map<String, Object>> handle(OperationContext ctx, Input input) {
      return CompletableFuture.completedFuture(Map.of());
    }
  }));

  /** Runs a request that must be refused; returns what the audit trail would record of it. */
  private OperationContext refused(String body, ErrorCode code) {
    OperationContext ctx = KmsApi.context("r", "Encrypt", ROOT);
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> api.invoke(ctx, body.getBytes(StandardCharsets.UTF_8)).toCompletableFuture().join());
    assertEquals(code, ((KmsException) e.getCause()).code());
    return ctx;
  }

  private static String auditLine(OperationContext ctx) {
    return AuditEvent.apiCall("Encrypt").time(Instant.EPOCH).caller(ROOT).region("us-east-1")
        .requestParameters(new JsonObject(ctx.request())).build().encode();
  }

  @Test
  void keyIdTooLong_isRecordedAsLengthAndHmac_neverVerbatim() {
    String keyId = SECRET.repeat(50); // over 2048 characters
    OperationContext ctx = refused("{\"KeyId\":\"" + keyId + "\",\"Plaintext\":\"aGk=\"}", ErrorCode.VALIDATION);
    @SuppressWarnings("unchecked")
    Map<String, Object> marker = (Map<String, Object>) ctx.request().get("KeyId");
    assertEquals(true, marker.get("failedValidation"));
    assertEquals("string", marker.get("type"));
    assertEquals(keyId.getBytes(StandardCharsets.UTF_8).length, marker.get("bytes"));
    assertEquals(44, ((String) marker.get("hmacSha256")).length()); // 32 bytes in base64
    String line = auditLine(ctx);
    assertFalse(line.contains("payroll"), line);
    assertTrue(line.contains("\"keyId\":{\"failedValidation\":true,\"type\":\"string\",\"bytes\":" + keyId.length()),
        line);
  }

  @Test
  void sameValue_sameHmac_withinTheProcess_otherValue_otherHmac() {
    Object a1 = refused("{\"KeyId\":\"" + "a".repeat(2049) + "\",\"Plaintext\":\"aGk=\"}", ErrorCode.VALIDATION)
        .request().get("KeyId");
    Object a2 = refused("{\"KeyId\":\"" + "a".repeat(2049) + "\",\"Plaintext\":\"aGk=\"}", ErrorCode.VALIDATION)
        .request().get("KeyId");
    Object b = refused("{\"KeyId\":\"" + "b".repeat(2049) + "\",\"Plaintext\":\"aGk=\"}", ErrorCode.VALIDATION)
        .request().get("KeyId");
    assertEquals(a1, a2);
    assertNotEquals(a1, b);
  }

  @Test
  void onlyTheFailedMembers_areReplaced_theOthersStay() {
    OperationContext ctx = refused("{\"KeyId\":\"alias/ok\",\"EncryptionAlgorithm\":\"" + SECRET
        + "\",\"Plaintext\":\"aGk=\",\"EncryptionContext\":{\"dept\":\"hr\"}}", ErrorCode.VALIDATION);
    assertEquals("alias/ok", ctx.request().get("KeyId"));
    assertEquals(Map.of("dept", "hr"), ctx.request().get("EncryptionContext"));
    assertInstanceOf(Map.class, ctx.request().get("EncryptionAlgorithm"));
    assertFalse(auditLine(ctx).contains("payroll"));
  }

  @Test
  void wrongJsonType_isReplacedToo() {
    OperationContext ctx = refused("{\"KeyId\":[\"" + SECRET + "\"],\"Plaintext\":\"aGk=\"}",
        ErrorCode.SERIALIZATION);
    @SuppressWarnings("unchecked")
    Map<String, Object> marker = (Map<String, Object>) ctx.request().get("KeyId");
    assertEquals("array", marker.get("type"));
    assertFalse(auditLine(ctx).contains("payroll"));
  }

  @Test
  void failedContextValue_insideTheVerbatimMap_isReplaced() {
    // a context value that is not a string: the value is replaced, the caller's key stays
    OperationContext ctx = refused("{\"KeyId\":\"k\",\"Plaintext\":\"aGk=\",\"EncryptionContext\":{\"dept\":{\"x\":\""
        + SECRET + "\"}}}", ErrorCode.SERIALIZATION);
    String line = auditLine(ctx);
    assertFalse(line.contains("payroll"), line);
    assertTrue(line.contains("\"encryptionContext\":{\"dept\":{\"failedValidation\":true,\"type\":\"object\""), line);
  }
}
