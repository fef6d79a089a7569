package io.kmsgw.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.api.kms.model.Shape;
import io.kmsgw.domain.Caller;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AuditEventTest {
  private static final Instant T = Instant.parse("2025-03-01T12:34:56.789Z");

  @Test
  void secretRequestMembers_neverReachTheEvent() {
    JsonObject request = new JsonObject()
        .put("KeyId", "alias/app")
        .put("Plaintext", "UExBSU5URVhULVNFQ1JFVA==")
        .put("CiphertextBlob", "Q0lQSEVSVEVYVA==")
        .put("KeyStorePassword", "kspw-secret-123")
        .put("XksProxyAuthenticationCredential", new JsonObject().put("RawSecretAccessKey", "xks-secret"))
        .put("GrantTokens", new JsonArray().add("grant-token-secret"))
        .put("EncryptionContext", new JsonObject().put("Tenant", "t-1"));
    String encoded = AuditEvent.apiCall("Encrypt").time(T).caller(AuditTesting.USER).requestParameters(request)
        .build().encode();
    for (String secret : List.of("UExBSU5URVhULVNFQ1JFVA==", "Q0lQSEVSVEVYVA==", "kspw-secret-123", "xks-secret",
        "grant-token-secret")) {
      assertFalse(encoded.contains(secret), secret);
    }
    JsonObject params = new JsonObject(encoded).getJsonObject("requestParameters");
    assertEquals(new JsonObject().put("keyId", "alias/app").put("encryptionContext",
        new JsonObject().put("Tenant", "t-1")), params, "CloudTrail's names; the context's keys as given");
  }

  @Test
  void responseElements_onlyWhereCloudTrailHasThem_andNeverAGrantToken() {
    JsonObject grant = AuditEvent.apiCall("CreateGrant").time(T)
        .responseElements(new JsonObject().put("GrantId", "g-1").put("GrantToken", "secret-token")).build();
    assertEquals(new JsonObject().put("grantId", "g-1"), grant.getJsonObject("responseElements"));
    JsonObject encrypt = AuditEvent.apiCall("Encrypt").time(T)
        .responseElements(new JsonObject().put("CiphertextBlob", "AAAA").put("KeyId", "k")).build();
    assertNull(encrypt.getValue("responseElements"));
    JsonObject create = AuditEvent.apiCall("CreateKey").time(T)
        .responseElements(new JsonObject().put("KeyMetadata", new JsonObject().put("AWSAccountId", "111122223333")
            .put("KeyId", "k"))).build();
    assertEquals("111122223333", create.getJsonObject("responseElements").getJsonObject("keyMetadata")
        .getString("aWSAccountId"));
  }

  @Test
  void noAllowlistedMember_isASensitiveShapeInTheKmsModel() {
    ServiceModel model = ServiceModel.kms();
    List<String> leaks = new ArrayList<>();
    model.operations().values().forEach(op -> {
      for (String[] io : new String[][] {{op.input(), "request"}, {op.output(), "response"}}) {
        if (io[0] == null) {
          continue;
        }
        Shape shape = model.shape(io[0]);
        shape.members().forEach((member, target) -> {
          boolean allowed = io[1].equals("request") ? AuditEvent.REQUEST_ALLOWED.contains(member)
              : AuditEvent.RESPONSE_ALLOWED.getOrDefault(op.name(), java.util.Set.of()).contains(member);
          if (allowed && sensitive(model, target, 0)) {
            leaks.add(op.name() + "." + member);
          }
        });
      }
    });
    assertEquals(List.of(), leaks);
  }

  private static boolean sensitive(ServiceModel model, String shapeName, int depth) {
    Shape s = model.shape(shapeName);
    if (s == null || depth > 6) {
      return false;
    }
    if (s.sensitive()) {
      return true;
    }
    for (String t : s.members() == null ? List.<String>of() : s.members().values()) {
      if (sensitive(model, t, depth + 1)) {
        return true;
      }
    }
    return (s.member() != null && sensitive(model, s.member(), depth + 1))
        || (s.value() != null && sensitive(model, s.value(), depth + 1));
  }

  @Test
  void recordFields_followCloudTrail() {
    Caller role = new Caller("arn:aws:sts::111122223333:assumed-role/Admin/alice", "111122223333",
        "AROAADMIN:alice", "ASIATEMP", "AssumedRole");
    JsonObject e = AuditEvent.apiCall("Decrypt").time(T).caller(role).region("eu-west-1").sourceIp("10.0.0.1")
        .userAgent("aws-cli/2").requestId("r-1").error("AccessDeniedException", "denied")
        .key("arn:aws:kms:eu-west-1:111122223333:key/k-1").build();
    assertEquals("1.08", e.getString("eventVersion"));
    assertEquals("2025-03-01T12:34:56Z", e.getString("eventTime"));
    assertEquals("kms.amazonaws.com", e.getString("eventSource"));
    assertEquals("AccessDeniedException", e.getString("errorCode"));
    assertTrue(e.getBoolean("readOnly"));
    assertEquals("AwsApiCall", e.getString("eventType"));
    assertEquals("111122223333", e.getString("recipientAccountId"));
    JsonObject issuer = e.getJsonObject("userIdentity").getJsonObject("sessionContext")
        .getJsonObject("sessionIssuer");
    assertEquals("arn:aws:iam::111122223333:role/Admin", issuer.getString("arn"));
    assertEquals("AROAADMIN", issuer.getString("principalId"));
    assertEquals(new JsonObject().put("accountId", "111122223333").put("type", "AWS::KMS::Key")
        .put("ARN", "arn:aws:kms:eu-west-1:111122223333:key/k-1"), e.getJsonArray("resources").getJsonObject(0));
    JsonObject user = AuditEvent.apiCall("CreateKey").time(T).caller(AuditTesting.USER).build();
    assertEquals("app", user.getJsonObject("userIdentity").getString("userName"));
    assertFalse(user.getBoolean("readOnly"));
    JsonObject service = AuditEvent.serviceEvent("RotateKey").time(T).recipientAccountId("111122223333")
        .serviceEventDetail("keyId", "k-1").build();
    assertEquals(new JsonObject().put("accountId", "111122223333").put("invokedBy", "kms.amazonaws.com"),
        service.getJsonObject("userIdentity"));
    assertEquals("AwsServiceEvent", service.getString("eventType"));
  }
}
