package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code aws cloudtrail lookup-events} (the unmodified AWS CLI v2) against the real gateway: a key's Decrypt calls
 * with the caller and the encryption context, the EventName and time filters, paging with {@code --page-size},
 * {@code --max-items}, {@code --starting-token} and {@code --next-token}, and a user without
 * {@code cloudtrail:LookupEvents} refused.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuditLookupIT {
  static final String ACCOUNT = GatewayProcess.ACCOUNT;
  static final String APP_POLICY = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
      + "[\"kms:Encrypt\",\"kms:Decrypt\"],\"Resource\":\"*\"}]}";
  static final String AUDITOR_POLICY = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
      + "\"cloudtrail:LookupEvents\",\"Resource\":\"*\"}]}";

  private static GatewayProcess gateway;
  private static AwsCli admin;
  private static AwsCli app;
  private static AwsCli auditor;
  private static AwsCli nobody;
  private static Instant started;
  private static String keyArn;

  @BeforeAll
  static void start() throws Exception {
    started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    gateway = GatewayProcess.start("audit-lookup");
    Path work = gateway.dataDir().resolveSibling(gateway.dataDir().getFileName() + "-cli");
    Files.createDirectories(work);
    admin = new AwsCli(gateway, work);
    app = user("app", APP_POLICY);
    auditor = user("auditor", AUDITOR_POLICY);
    nobody = user("nobody", null);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  /** An IAM user with an access key and, unless null, an inline policy: the CLI signing as it. */
  static AwsCli user(String name, String policy) throws Exception {
    admin.okAny("iam", "create-user", "--user-name", name);
    if (policy != null) {
      admin.okAny("iam", "put-user-policy", "--user-name", name, "--policy-name", "p", "--policy-document", policy);
    }
    JsonObject key = admin.okAny("iam", "create-access-key", "--user-name", name).getJsonObject("AccessKey");
    return admin.as(key.getString("AccessKeyId"), key.getString("SecretAccessKey"), null);
  }

  static JsonArray events(AwsCli cli, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("cloudtrail", "lookup-events"));
    all.addAll(List.of(args));
    return cli.okAny(all.toArray(String[]::new)).getJsonArray("Events");
  }

  static JsonObject decryptOf(JsonArray events) {
    for (Object o : events) {
      JsonObject e = (JsonObject) o;
      if ("Decrypt".equals(e.getString("EventName"))) {
        return e;
      }
    }
    return null;
  }

  @Test
  @Order(1)
  void lookupEvents_byResourceName_findsTheKeysDecrypt_withTheCallerAndTheEncryptionContext() throws Exception {
    keyArn = admin.ok("create-key", "--description", "lookup").getJsonObject("KeyMetadata").getString("Arn");
    Path work = admin.work();
    Files.writeString(work.resolve("lookup-plain.txt"), "audited");
    JsonObject enc = app.ok("encrypt", "--key-id", keyArn, "--plaintext", "fileb://lookup-plain.txt",
        "--encryption-context", "tenant=t-42,purpose=lookup");
    Files.write(work.resolve("lookup-blob.bin"), Base64.getDecoder().decode(enc.getString("CiphertextBlob")));
    app.ok("decrypt", "--ciphertext-blob", "fileb://lookup-blob.bin", "--encryption-context",
        "tenant=t-42,purpose=lookup");

    for (AwsCli reader : List.of(admin, auditor)) {
      JsonArray found = events(reader, "--lookup-attributes", "AttributeKey=ResourceName,AttributeValue=" + keyArn);
      JsonObject decrypt = decryptOf(found);
      assertNotNull(decrypt, "the key's Decrypt: " + found.encodePrettily());
      assertEquals("app", decrypt.getString("Username"));
      assertEquals("true", decrypt.getString("ReadOnly"));
      assertEquals("kms.amazonaws.com", decrypt.getString("EventSource"));
      assertTrue(decrypt.getJsonArray("Resources").contains(new JsonObject().put("ResourceType", "AWS::KMS::Key")
          .put("ResourceName", keyArn)), decrypt.encode());
      JsonObject event = new JsonObject(decrypt.getString("CloudTrailEvent"));
      assertEquals("arn:aws:iam::" + ACCOUNT + ":user/app", event.getJsonObject("userIdentity").getString("arn"));
      assertEquals(new JsonObject().put("tenant", "t-42").put("purpose", "lookup"),
          event.getJsonObject("requestParameters").getJsonObject("encryptionContext"));
      assertFalse(decrypt.getString("CloudTrailEvent").contains("audited"), "no plaintext");
      // newest first: the Decrypt before the Encrypt, the Encrypt before the CreateKey
      List<String> names = found.stream().map(o -> ((JsonObject) o).getString("EventName")).toList();
      assertTrue(names.indexOf("Decrypt") < names.indexOf("Encrypt"), names.toString());
      assertTrue(names.indexOf("Encrypt") < names.indexOf("CreateKey"), names.toString());
    }
  }

  @Test
  @Order(2)
  void lookupEvents_byEventName_andTimeRange() throws Exception {
    JsonArray decrypts = events(admin, "--lookup-attributes", "AttributeKey=EventName,AttributeValue=Decrypt");
    assertTrue(decrypts.stream().allMatch(o -> "Decrypt".equals(((JsonObject) o).getString("EventName"))));
    assertNotNull(decryptOf(decrypts));
    String now = Instant.now().plusSeconds(60).toString();
    JsonArray inRange = events(admin, "--lookup-attributes", "AttributeKey=EventName,AttributeValue=Decrypt",
        "--start-time", started.toString(), "--end-time", now);
    assertNotNull(decryptOf(inRange));
    JsonArray before = events(admin, "--lookup-attributes", "AttributeKey=EventName,AttributeValue=Decrypt",
        "--start-time", started.minus(1, ChronoUnit.DAYS).toString(), "--end-time",
        started.minusSeconds(1).toString());
    assertEquals(0, before.size(), before.encodePrettily());
  }

  @Test
  @Order(3)
  void lookupEvents_pages_withPageSizeMaxItemsStartingTokenAndNextToken() throws Exception {
    JsonArray all = events(admin, "--lookup-attributes", "AttributeKey=ResourceName,AttributeValue=" + keyArn);
    assertTrue(all.size() >= 3, all.encodePrettily());
    // the CLI's own paging: --page-size is MaxResults (an explicit --max-results turns the CLI's paging off)
    JsonObject first = admin.okAny("cloudtrail", "lookup-events", "--lookup-attributes",
        "AttributeKey=ResourceName,AttributeValue=" + keyArn, "--page-size", "1", "--max-items", "1");
    assertEquals(1, first.getJsonArray("Events").size());
    String token = first.getString("NextToken");
    assertNotNull(token, first.encodePrettily());
    JsonObject second = admin.okAny("cloudtrail", "lookup-events", "--lookup-attributes",
        "AttributeKey=ResourceName,AttributeValue=" + keyArn, "--page-size", "1", "--max-items", "1",
        "--starting-token", token);
    String firstId = first.getJsonArray("Events").getJsonObject(0).getString("EventId");
    String secondId = second.getJsonArray("Events").getJsonObject(0).getString("EventId");
    assertNotEquals(firstId, secondId);
    assertEquals(all.getJsonObject(0).getString("EventId"), firstId);
    assertEquals(all.getJsonObject(1).getString("EventId"), secondId);
    // all of them, one event per request, followed by the CLI
    assertEquals(all, events(admin, "--lookup-attributes", "AttributeKey=ResourceName,AttributeValue=" + keyArn,
        "--page-size", "1"));
    // one API page: the service's own NextToken, given back with --next-token
    JsonObject raw = admin.okAny("cloudtrail", "lookup-events", "--lookup-attributes",
        "AttributeKey=ResourceName,AttributeValue=" + keyArn, "--max-results", "1");
    assertEquals(1, raw.getJsonArray("Events").size());
    assertNotNull(raw.getString("NextToken"));
    JsonObject next = admin.okAny("cloudtrail", "lookup-events", "--lookup-attributes",
        "AttributeKey=ResourceName,AttributeValue=" + keyArn, "--max-results", "1", "--next-token",
        raw.getString("NextToken"));
    assertEquals(secondId, next.getJsonArray("Events").getJsonObject(0).getString("EventId"));
    AwsCli.Result otherFilter = admin.any("cloudtrail", "lookup-events", "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=Decrypt", "--max-results", "1", "--next-token",
        raw.getString("NextToken"));
    assertTrue(otherFilter.err().contains("InvalidNextTokenException"), otherFilter.err());
  }

  @Test
  @Order(4)
  void lookupEvents_findsTheGatewaysStart_aServiceEventWithoutUsername() throws Exception {
    JsonArray starts = events(admin, "--lookup-attributes", "AttributeKey=EventName,AttributeValue=KmsgwStarted",
        "--start-time", started.minusSeconds(5).toString());
    assertEquals(1, starts.size(), starts.encodePrettily());
    assertNull(starts.getJsonObject(0).getString("Username"));
  }

  @Test
  @Order(5)
  void lookupEvents_refusesAUserWithoutThePermission_andBadInput() throws Exception {
    AwsCli.Result denied = nobody.any("cloudtrail", "lookup-events");
    assertNotEquals(0, denied.exit());
    assertTrue(denied.err().contains("AccessDeniedException"), denied.err());
    assertTrue(denied.err().contains("cloudtrail:LookupEvents"), denied.err());
    AwsCli.Result two = admin.any("cloudtrail", "lookup-events", "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=Decrypt", "AttributeKey=Username,AttributeValue=app");
    assertTrue(two.err().contains("InvalidLookupAttributesException"), two.err());
    AwsCli.Result max = admin.any("cloudtrail", "lookup-events", "--max-results", "51");
    assertTrue(max.err().contains("InvalidMaxResultsException"), max.err());
    AwsCli.Result range = admin.any("cloudtrail", "lookup-events", "--start-time", "2025-03-02T00:00:00Z",
        "--end-time", "2025-03-01T00:00:00Z");
    assertTrue(range.err().contains("InvalidTimeRangeException"), range.err());
  }
}
