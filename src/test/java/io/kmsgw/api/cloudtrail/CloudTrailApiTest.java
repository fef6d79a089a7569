package io.kmsgw.api.cloudtrail;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.kms.JsonResponse;
import io.kmsgw.audit.AuditEvent;
import io.kmsgw.audit.AuditLog;
import io.kmsgw.audit.AuditLookup;
import io.kmsgw.audit.DigestSigner;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.policy.IdentityPolicies;
import io.kmsgw.policy.PolicyDocument;
import io.kmsgw.policy.PolicyParser;
import io.kmsgw.testing.TestToken;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CloudTrailApiTest {
  static final String ACCOUNT = "111122223333";
  static final String OTHER = "444455556666";
  static final String KEY = "arn:aws:kms:us-east-1:" + ACCOUNT + ":key/aaaaaaaa-1111-2222-3333-444444444444";
  static final Caller ROOT = new Caller("arn:aws:iam::" + ACCOUNT + ":root", ACCOUNT, ACCOUNT, "AKIAROOT", "Root");
  static final Caller AUDITOR = new Caller("arn:aws:iam::" + ACCOUNT + ":user/auditor", ACCOUNT, "AIDAAUDITOR",
      "AKIAAUDITOR", "IAMUser");
  static final Caller NOBODY = new Caller("arn:aws:iam::" + ACCOUNT + ":user/nobody", ACCOUNT, "AIDANOBODY",
      "AKIANOBODY", "IAMUser");
  static final Caller DENIED = new Caller("arn:aws:iam::" + ACCOUNT + ":user/denied", ACCOUNT, "AIDADENIED",
      "AKIADENIED", "IAMUser");
  static final Caller OTHER_ROOT = new Caller("arn:aws:iam::" + OTHER + ":root", OTHER, OTHER, "AKIAOTHER", "Root");
  static final Caller APP = new Caller("arn:aws:iam::" + ACCOUNT + ":user/app", ACCOUNT, "AIDAAPP", "AKIAAPP",
      "IAMUser");
  static final Instant T0 = Instant.parse("2025-03-01T10:00:00Z");
  static final int EVENTS = 12;

  static final IdentityPolicies POLICIES = caller -> switch (caller.arn()) {
    case "arn:aws:iam::" + ACCOUNT + ":user/auditor" -> List.of(policy("Allow", "cloudtrail:LookupEvents"));
    case "arn:aws:iam::" + ACCOUNT + ":user/denied" -> List.of(policy("Allow", "cloudtrail:*"),
        policy("Deny", "cloudtrail:LookupEvents"));
    default -> List.of();
  };

  private static Path dir;

  static PolicyDocument policy(String effect, String action) {
    return PolicyParser.parse("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"" + effect
        + "\",\"Action\":\"" + action + "\",\"Resource\":\"*\"}]}", PolicyParser.Kind.IDENTITY);
  }

  /** Encrypt and Decrypt by app, alternating, a minute apart: ids c0..c11, the odd ones Decrypt. */
  @BeforeAll
  static void trail() throws Exception {
    dir = TestToken.scratch("cloudtrail-api");
    AuditLog.Settings settings = new AuditLog.Settings(dir, 64L << 20, 0, 1000, Duration.ofSeconds(60), ACCOUNT,
        "us-east-1");
    try (AuditLog log = AuditLog.open(settings, Clock.systemUTC(), DigestSigner.NONE, List.of())) {
      for (int i = 0; i < EVENTS; i++) {
        log.append(AuditEvent.apiCall(i % 2 == 1 ? "Decrypt" : "Encrypt").eventId("c" + i)
            .time(T0.plus(Duration.ofMinutes(i))).caller(APP).region("us-east-1").sourceIp("127.0.0.1")
            .userAgent("test").requestParameters(new JsonObject().put("KeyId", KEY)
                .put("EncryptionContext", new JsonObject().put("tenant", "t-" + i)))
            .key(KEY).build()).join();
      }
    }
  }

  static CloudTrailApi api() {
    return new CloudTrailApi(ACCOUNT, "us-east-1", new AuditLookup(dir, () -> Long.MAX_VALUE), POLICIES, null,
        Runnable::run, Clock.systemUTC(), NextTokens.random());
  }

  static Map<String, Object> call(CloudTrailApi api, Caller caller, JsonObject request) {
    try {
      return api.lookupEvents(caller, request.encode().getBytes(StandardCharsets.UTF_8)).toCompletableFuture()
          .join();
    } catch (CompletionException e) {
      throw (RuntimeException) e.getCause();
    }
  }

  /** The response as a client reads it: written by the JSON protocol writer and parsed back. */
  static JsonObject lookup(CloudTrailApi api, Caller caller, JsonObject request) {
    return new JsonObject(new String(JsonResponse.write(call(api, caller, request)), StandardCharsets.UTF_8));
  }

  static ErrorCode refused(CloudTrailApi api, Caller caller, JsonObject request) {
    try {
      call(api, caller, request);
    } catch (KmsException e) {
      return e.code();
    }
    throw new AssertionError("expected a refusal of " + request.encode());
  }

  static JsonObject attribute(String key, String value) {
    return new JsonObject().put("LookupAttributes", new JsonArray().add(new JsonObject().put("AttributeKey", key)
        .put("AttributeValue", value)));
  }

  static List<String> ids(JsonObject response) {
    List<String> out = new ArrayList<>();
    response.getJsonArray("Events").forEach(e -> out.add(((JsonObject) e).getString("EventId")));
    return out;
  }

  @Test
  void lookup_byResourceName_findsTheKeysDecrypts_withCallerAndEncryptionContext() {
    JsonObject r = lookup(api(), ROOT, attribute("ResourceName", KEY).put("MaxResults", 50));
    assertEquals(EVENTS, r.getJsonArray("Events").size());
    assertNull(r.getString("NextToken"));
    JsonObject newest = r.getJsonArray("Events").getJsonObject(0);
    assertEquals("c11", newest.getString("EventId"));
    assertEquals("Decrypt", newest.getString("EventName"));
    assertEquals("true", newest.getString("ReadOnly"));
    assertEquals("AKIAAPP", newest.getString("AccessKeyId"));
    assertEquals("kms.amazonaws.com", newest.getString("EventSource"));
    assertEquals("app", newest.getString("Username"));
    // the JSON protocol's timestamp: epoch seconds as a number
    assertInstanceOf(Number.class, newest.getValue("EventTime"));
    assertEquals(T0.plus(Duration.ofMinutes(11)).getEpochSecond(), newest.getNumber("EventTime").longValue());
    assertEquals(new JsonArray().add(new JsonObject().put("ResourceType", "AWS::KMS::Key")
        .put("ResourceName", KEY)), newest.getJsonArray("Resources"));
    JsonObject event = new JsonObject(newest.getString("CloudTrailEvent"));
    assertEquals(APP.arn(), event.getJsonObject("userIdentity").getString("arn"));
    assertEquals("t-11", event.getJsonObject("requestParameters").getJsonObject("encryptionContext")
        .getString("tenant"));
  }

  @Test
  void lookup_byEventName_andTimeRange_inEpochSeconds() {
    CloudTrailApi api = api();
    assertEquals(List.of("c11", "c9", "c7", "c5", "c3", "c1"), ids(lookup(api, ROOT, attribute("EventName",
        "Decrypt"))));
    JsonObject range = new JsonObject()
        .put("StartTime", T0.plus(Duration.ofMinutes(3)).getEpochSecond())
        // as the AWS SDK for Java sends it: seconds with a fraction
        .put("EndTime", new java.math.BigDecimal(T0.plus(Duration.ofMinutes(5)).getEpochSecond() + ".500"));
    assertEquals(List.of("c5", "c4", "c3"), ids(lookup(api, ROOT, range)));
    assertEquals(List.of("c5", "c3"), ids(lookup(api, ROOT, attribute("EventName", "Decrypt")
        .put("StartTime", T0.plus(Duration.ofMinutes(3)).getEpochSecond())
        .put("EndTime", T0.plus(Duration.ofMinutes(6)).getEpochSecond() - 1))));
  }

  @Test
  void nextToken_pagesThroughEverything_withoutGapsOrDuplicates() {
    CloudTrailApi api = api();
    for (int max : new int[] {1, 5, 12}) {
      List<String> all = new ArrayList<>();
      String token = null;
      int calls = 0;
      do {
        JsonObject request = attribute("Username", "app").put("MaxResults", max);
        if (token != null) {
          request.put("NextToken", token);
        }
        JsonObject r = lookup(api, ROOT, request);
        assertTrue(r.getJsonArray("Events").size() <= max);
        all.addAll(ids(r));
        token = r.getString("NextToken");
        assertTrue(++calls <= EVENTS + 1);
      } while (token != null);
      List<String> expected = new ArrayList<>();
      for (int i = EVENTS - 1; i >= 0; i--) {
        expected.add("c" + i);
      }
      assertEquals(expected, all, "pages of " + max);
      assertEquals(EVENTS, new HashSet<>(all).size());
    }
  }

  @Test
  void maxResults_defaultsTo50() {
    assertEquals(EVENTS, ids(lookup(api(), ROOT, new JsonObject())).size());
    assertEquals(EVENTS, ids(lookup(api(), ROOT, new JsonObject().put("MaxResults", (Object) null))).size());
  }

  @Test
  void nextToken_thatIsForeignTamperedOrForOtherParameters_isInvalidNextToken() {
    CloudTrailApi api = api();
    String token = lookup(api, ROOT, attribute("EventName", "Decrypt").put("MaxResults", 1)).getString("NextToken");
    // the same parameters, another page size: accepted
    assertEquals(List.of("c9", "c7"), ids(lookup(api, ROOT, attribute("EventName", "Decrypt").put("MaxResults", 2)
        .put("NextToken", token))));
    assertEquals(ErrorCode.INVALID_NEXT_TOKEN, refused(api, ROOT, attribute("EventName", "Encrypt")
        .put("NextToken", token)));
    assertEquals(ErrorCode.INVALID_NEXT_TOKEN, refused(api, ROOT, new JsonObject().put("NextToken", token)));
    assertEquals(ErrorCode.INVALID_NEXT_TOKEN, refused(api(), ROOT, attribute("EventName", "Decrypt")
        .put("NextToken", token)), "another gateway process");
    String[] parts = token.split("\\.");
    String forged = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
        "1:0:audit-20250301-001.jsonl".getBytes(StandardCharsets.UTF_8)) + "." + parts[1];
    assertEquals(ErrorCode.INVALID_NEXT_TOKEN, refused(api, ROOT, attribute("EventName", "Decrypt")
        .put("NextToken", forged)));
    for (String garbage : new String[] {"", "x", "a.b", "%%%.%%%", token + "x"}) {
      assertEquals(ErrorCode.INVALID_NEXT_TOKEN, refused(api, ROOT, attribute("EventName", "Decrypt")
          .put("NextToken", garbage)), garbage);
    }
  }

  @Test
  void lookupAttributes_outsideTheModel_areInvalidLookupAttributes() {
    CloudTrailApi api = api();
    JsonObject two = new JsonObject().put("LookupAttributes", new JsonArray()
        .add(new JsonObject().put("AttributeKey", "EventName").put("AttributeValue", "Decrypt"))
        .add(new JsonObject().put("AttributeKey", "Username").put("AttributeValue", "app")));
    assertEquals(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, refused(api, ROOT, two));
    assertEquals(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, refused(api, ROOT, attribute("KeyId", KEY)));
    assertEquals(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, refused(api, ROOT, attribute("eventname", "Decrypt")));
    assertEquals(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, refused(api, ROOT, attribute("EventName", "")));
    assertEquals(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, refused(api, ROOT, new JsonObject().put("LookupAttributes",
        new JsonArray().add(new JsonObject().put("AttributeKey", "EventName")))));
    // '_', ' ', ',' and newline count twice toward the 2000
    assertEquals(List.of(), ids(lookup(api, ROOT, attribute("EventName", "_".repeat(1000)))));
    assertEquals(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, refused(api, ROOT, attribute("EventName", "_".repeat(1001))));
    assertEquals(ErrorCode.INVALID_LOOKUP_ATTRIBUTES, refused(api, ROOT, attribute("EventName", "a".repeat(2001))));
    assertEquals(2000, LookupEventsRequest.valueLength("a".repeat(1996) + "_ "));
    assertEquals(List.of("c11"), ids(lookup(api, ROOT, new JsonObject().put("LookupAttributes", new JsonArray())
        .put("MaxResults", 1))), "an empty list filters nothing");
    assertEquals(ErrorCode.SERIALIZATION, refused(api, ROOT, new JsonObject().put("LookupAttributes", "EventName")));
  }

  @Test
  void times_maxResults_andEventCategory_outsideTheModel_getTheirExceptions() {
    CloudTrailApi api = api();
    assertEquals(ErrorCode.INVALID_TIME_RANGE, refused(api, ROOT, new JsonObject().put("StartTime", 200)
        .put("EndTime", 100)));
    assertEquals(ErrorCode.INVALID_TIME_RANGE, refused(api, ROOT, new JsonObject().put("StartTime", -1)));
    assertEquals(ErrorCode.INVALID_TIME_RANGE, refused(api, ROOT, new JsonObject().put("EndTime", 1e15)));
    assertEquals(ErrorCode.SERIALIZATION, refused(api, ROOT, new JsonObject().put("StartTime",
        "2025-03-01T10:00:00Z")));
    assertEquals(ErrorCode.INVALID_MAX_RESULTS, refused(api, ROOT, new JsonObject().put("MaxResults", 0)));
    assertEquals(ErrorCode.INVALID_MAX_RESULTS, refused(api, ROOT, new JsonObject().put("MaxResults", 51)));
    assertEquals(ErrorCode.SERIALIZATION, refused(api, ROOT, new JsonObject().put("MaxResults", "5")));
    assertEquals(ErrorCode.SERIALIZATION, refused(api, ROOT, new JsonObject().put("MaxResults", 2.5)));
    assertEquals(ErrorCode.INVALID_EVENT_CATEGORY, refused(api, ROOT, new JsonObject().put("EventCategory",
        "Management")));
    JsonObject insight = lookup(api, ROOT, new JsonObject().put("EventCategory", "insight"));
    assertEquals(0, insight.getJsonArray("Events").size(), "the gateway records no Insights events");
    assertNull(insight.getString("NextToken"));
    assertEquals(ErrorCode.SERIALIZATION, refusedRaw(api, "{\"MaxResults\":1,\"MaxResults\":2}"));
    assertEquals(ErrorCode.SERIALIZATION, refusedRaw(api, "[]"));
    assertEquals(EVENTS, ids(lookup(api, ROOT, new JsonObject().put("SomeFutureMember", 1))).size());
  }

  private static ErrorCode refusedRaw(CloudTrailApi api, String body) {
    try {
      api.lookupEvents(ROOT, body.getBytes(StandardCharsets.UTF_8)).toCompletableFuture().join();
    } catch (CompletionException e) {
      return ((KmsException) e.getCause()).code();
    }
    throw new AssertionError("expected a refusal of " + body);
  }

  @Test
  void authorization_rootAndAllowedUsers_only() {
    CloudTrailApi api = api();
    assertEquals(EVENTS, ids(lookup(api, ROOT, new JsonObject())).size());
    assertEquals(EVENTS, ids(lookup(api, AUDITOR, new JsonObject())).size());
    KmsException nobody = assertDenied(api, NOBODY);
    assertEquals("User: arn:aws:iam::" + ACCOUNT + ":user/nobody is not authorized to perform: "
        + "cloudtrail:LookupEvents on resource: * because no identity-based policy allows the "
        + "cloudtrail:LookupEvents action", nobody.getMessage());
    assertTrue(assertDenied(api, DENIED).getMessage().contains("with an explicit deny in an identity-based policy"));
    assertTrue(assertDenied(api, OTHER_ROOT).getMessage().startsWith("User: arn:aws:iam::" + OTHER + ":root is not "
        + "authorized to perform: cloudtrail:LookupEvents"));
    // refused before the request is even read
    assertEquals(ErrorCode.ACCESS_DENIED, refused(api, NOBODY, new JsonObject().put("MaxResults", 0)));
  }

  private static KmsException assertDenied(CloudTrailApi api, Caller caller) {
    try {
      call(api, caller, new JsonObject());
    } catch (KmsException e) {
      assertEquals(ErrorCode.ACCESS_DENIED, e.code());
      return e;
    }
    throw new AssertionError(caller.arn() + " was allowed");
  }

  @Test
  void targets_andSigningName_selectCloudTrail_andOnlyLookupEventsIsServed() {
    assertTrue(CloudTrailApi.handles("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", null));
    assertTrue(CloudTrailApi.handles(null, "cloudtrail"));
    assertFalse(CloudTrailApi.handles("TrentService.Decrypt", "kms"));
    assertFalse(CloudTrailApi.handles(null, null));
    CloudTrailApi api = api();
    assertEquals("LookupEvents",
        api.operationName("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"));
    for (String t : new String[] {"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
        "TrentService.Decrypt", null}) {
      try {
        api.operationName(t);
        throw new AssertionError(t);
      } catch (KmsException e) {
        assertEquals(ErrorCode.UNKNOWN_OPERATION, e.code());
      }
    }
  }

  @Test
  void aFullWorkerQueue_isThrottling() {
    CloudTrailApi api = new CloudTrailApi(ACCOUNT, "us-east-1", new AuditLookup(dir, () -> Long.MAX_VALUE),
        POLICIES, null, r -> {
          throw new java.util.concurrent.RejectedExecutionException("full");
        }, Clock.systemUTC(), NextTokens.random());
    assertEquals(ErrorCode.THROTTLING, refused(api, ROOT, new JsonObject()));
  }
}
