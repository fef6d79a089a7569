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
  private static final String GOLDEN_ENCRYPT = "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"AIDAAPP\",\""
        + "arn\":\"arn:aws:iam::111122223333:user/app\",\"accountId\":\"111122223333\",\"accessKeyId\":\"AK"
        + "IAAPP\",\"userName\":\"app\"},\"eventTime\":\"2025-03-01T12:34:56Z\",\"eventSource\":\"kms.amazo"
        + "naws.com\",\"eventName\":\"Encrypt\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"10.0.0.1\",\"userAgent\":\"aws-cli/2 \\\"quoted\\\" é\\n\",\"requestParameters\":{\"keyId\":\"alias/app\""
        + ",\"encryptionContext\":{\"Tenant\":\"t-1\",\"KeyId\":\"not renamed\"},\"numberOfBytes\":32,\"dry"
        + "Run\":false},\"responseElements\":null,\"requestID\":\"r-1\",\"eventID\":\"e-1\",\"readOnly\":tr"
        + "ue,\"resources\":[{\"accountId\":\"111122223333\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"arn:aws:k"
        + "ms:us-east-1:111122223333:key/k-1\"}],\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\"re"
        + "cipientAccountId\":\"111122223333\",\"eventCategory\":\"Management\"}";
  private static final String GOLDEN_GRANT = "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"AssumedRole\",\"principalId\":\"AROAADMI"
        + "N:alice\",\"arn\":\"arn:aws:sts::111122223333:assumed-role/Admin/alice\",\"accountId\":\"1111222"
        + "23333\",\"accessKeyId\":\"ASIATEMP\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\""
        + "principalId\":\"AROAADMIN\",\"arn\":\"arn:aws:iam::111122223333:role/Admin\",\"accountId\":\"111"
        + "122223333\",\"userName\":\"Admin\"}}},\"eventTime\":\"2025-03-01T12:34:56Z\",\"eventSource\":\"k"
        + "ms.amazonaws.com\",\"eventName\":\"CreateGrant\",\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\""
        + ":null,\"userAgent\":null,\"errorCode\":\"AccessDeniedException\",\"errorMessage\":\"denied\",\"r"
        + "equestParameters\":{\"keyId\":\"k\",\"granteePrincipal\":\"arn:aws:iam::111122223333:role/R\",\""
        + "operations\":[\"Encrypt\",\"Decrypt\"],\"constraints\":{\"encryptionContextSubset\":{\"Dept\":\""
        + "x\"}},\"tags\":[{\"tagKey\":\"a\",\"tagValue\":\"b\"}]},\"responseElements\":{\"grantId\":\"g-1\"},\"eventID\":\"e-2\",\"readOnly\":false,\"resources\":[{\"accountId\":\"111122223333\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"arn:aws:kms:eu-west-1:111122223333:key/k-1\"},{\"accountId\":\"444"
        + "455556666\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"arn:aws:kms:eu-west-1:444455556666:key/k-2\"}],"
        + "\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"111122223333\",\""
        + "eventCategory\":\"Management\"}";
  private static final String GOLDEN_CREATE = "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"Unknown\"},\"eventTime\":\"2025-03-01T12"
        + ":34:56Z\",\"eventSource\":\"kms.amazonaws.com\",\"eventName\":\"CreateKey\",\"awsRegion\":null,\"sourceIPAddress\":null,\"userAgent\":null,\"requestParameters\":{\"description\":\"d\",\"tags\""
        + ":[]},\"responseElements\":{\"keyMetadata\":{\"aWSAccountId\":\"111122223333\",\"keyId\":\"k\",\""
        + "creationDate\":1.7409E9,\"enabled\":true,\"encryptionAlgorithms\":[\"SYMMETRIC_DEFAULT\"],\"mult"
        + "iRegionConfiguration\":null}},\"eventID\":\"e-3\",\"readOnly\":true,\"resources\":[],\"eventType"
        + "\":\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":null,\"eventCategory\":\"Manag"
        + "ement\"}";
  private static final String GOLDEN_ROTATE = "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"accountId\":\"111122223333\",\"invokedBy\":\"kms."
        + "amazonaws.com\"},\"eventTime\":\"2025-03-01T12:34:56Z\",\"eventSource\":\"kms.amazonaws.com\",\""
        + "eventName\":\"RotateKey\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"kms.amazonaws.com\","
        + "\"userAgent\":\"kms.amazonaws.com\",\"requestParameters\":null,\"responseElements\":null,\"event"
        + "ID\":\"e-4\",\"readOnly\":false,\"resources\":[{\"accountId\":\"111122223333\",\"type\":\"AWS::K"
        + "MS::Key\",\"ARN\":\"arn:aws:kms:us-east-1:111122223333:key/k-1\"}],\"eventType\":\"AwsServiceEve"
        + "nt\",\"managementEvent\":true,\"recipientAccountId\":\"111122223333\",\"serviceEventDetails\":{\"keyId\":\"k-1\",\"count\":3,\"ok\":true},\"eventCategory\":\"Management\"}";
  private static final String GOLDEN_IAM = "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"AIDAAPP\",\""
        + "arn\":\"arn:aws:iam::111122223333:user/app\",\"accountId\":\"111122223333\",\"accessKeyId\":\"AK"
        + "IAAPP\",\"userName\":\"app\"},\"eventTime\":\"2025-03-01T12:34:56Z\",\"eventSource\":\"iam.amazo"
        + "naws.com\",\"eventName\":\"CreateUser\",\"awsRegion\":null,\"sourceIPAddress\":null,\"userAgent\":null,\"requestParameters\":{\"userName\":\"bob\",\"path\":\"/\"},\"responseElements\":null,\"e"
        + "ventID\":\"e-5\",\"readOnly\":false,\"resources\":[],\"eventType\":\"AwsApiCall\",\"managementEv"
        + "ent\":true,\"recipientAccountId\":\"111122223333\",\"eventCategory\":\"Management\"}";

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

  /**
   * Every field of an event, in CloudTrail's order, as the JSON-tree encoder of earlier versions wrote it (these
   * lines are its output): the streaming writer changes nothing a reader of the trail sees.
   */
  @Test
  void encode_writesEveryFieldAsBefore() {
    Caller role = new Caller("arn:aws:sts::111122223333:assumed-role/Admin/alice", "111122223333",
        "AROAADMIN:alice", "ASIATEMP", "AssumedRole");
    java.util.Map<String, Object> context = new java.util.LinkedHashMap<>();
    context.put("Tenant", "t-1");
    context.put("KeyId", "not renamed");
    java.util.Map<String, Object> request = new java.util.LinkedHashMap<>();
    request.put("KeyId", "alias/app");
    request.put("Plaintext", "UExBSU5U");
    request.put("EncryptionContext", context);
    request.put("GrantTokens", new ArrayList<>(List.of("secret")));
    request.put("NumberOfBytes", 32);
    request.put("DryRun", false);
    assertEquals(GOLDEN_ENCRYPT, AuditEvent.apiCall("Encrypt").time(T).caller(AuditTesting.USER)
        .region("us-east-1").sourceIp("10.0.0.1").userAgent("aws-cli/2 \"quoted\" \u00e9\n").requestId("r-1")
        .eventId("e-1").recipientAccountId("111122223333").requestParameters(new JsonObject(request))
        .key("arn:aws:kms:us-east-1:111122223333:key/k-1").encode());
    java.util.Map<String, Object> constraints = new java.util.LinkedHashMap<>();
    constraints.put("EncryptionContextSubset", new java.util.LinkedHashMap<>(java.util.Map.of("Dept", "x")));
    JsonObject grant = new JsonObject().put("KeyId", "k").put("GranteePrincipal", "arn:aws:iam::111122223333:role/R")
        .put("Operations", new JsonArray().add("Encrypt").add("Decrypt")).put("Constraints", constraints)
        .put("Tags", new JsonArray().add(new JsonObject().put("TagKey", "a").put("TagValue", "b")));
    assertEquals(GOLDEN_GRANT, AuditEvent.apiCall("CreateGrant").time(T).caller(role).region("eu-west-1")
        .sourceIp(null).userAgent(null).eventId("e-2").requestParameters(grant)
        .responseElements(new JsonObject().put("GrantId", "g-1").put("GrantToken", "tok"))
        .error("AccessDeniedException", "denied").key("arn:aws:kms:eu-west-1:111122223333:key/k-1")
        .key("arn:aws:kms:eu-west-1:444455556666:key/k-2").encode());
    JsonObject metadata = new JsonObject().put("AWSAccountId", "111122223333").put("KeyId", "k")
        .put("CreationDate", 1.7409E9).put("Enabled", true)
        .put("EncryptionAlgorithms", new JsonArray().add("SYMMETRIC_DEFAULT")).put("MultiRegionConfiguration", null);
    assertEquals(GOLDEN_CREATE, AuditEvent.apiCall("CreateKey").time(T).caller(null).eventId("e-3").readOnly(true)
        .requestParameters(new JsonObject().put("Description", "d").put("Tags", new JsonArray()))
        .responseElements(new JsonObject().put("KeyMetadata", metadata)).encode());
    assertEquals(GOLDEN_ROTATE, AuditEvent.serviceEvent("RotateKey").time(T).eventId("e-4").region("us-east-1")
        .recipientAccountId("111122223333").key("arn:aws:kms:us-east-1:111122223333:key/k-1")
        .serviceEventDetail("keyId", "k-1").serviceEventDetail("count", 3L).serviceEventDetail("ok", true).encode());
    assertEquals(GOLDEN_IAM, AuditEvent.apiCall("CreateUser").source("iam.amazonaws.com").time(T)
        .caller(AuditTesting.USER).eventId("e-5")
        .requestParameters(new JsonObject().put("UserName", "bob").put("Path", "/")).encode());
    assertEquals(new JsonObject(GOLDEN_ROTATE), AuditEvent.serviceEvent("RotateKey").time(T).eventId("e-4")
        .region("us-east-1").recipientAccountId("111122223333").key("arn:aws:kms:us-east-1:111122223333:key/k-1")
        .serviceEventDetail("keyId", "k-1").serviceEventDetail("count", 3L).serviceEventDetail("ok", true).build());
  }
}
