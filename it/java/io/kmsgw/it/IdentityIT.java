package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.iam.model.EntityAlreadyExistsException;
import software.amazon.awssdk.services.iam.model.NoSuchEntityException;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.ExpiredTokenException;

/**
 * Identities against the real gateway process: IAM users, access keys, inline policies and roles created with the
 * unmodified AWS CLI v2 ({@code aws iam ... --endpoint-url}) and the AWS SDK for Java v2, STS AssumeRole and
 * GetCallerIdentity with a user's and a session's credentials, and the session refused with ExpiredToken once the
 * gateway restarts with the development clock a day ahead (sessions expire by that clock; DurationSeconds is at
 * least 900, too long to wait for).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IdentityIT {
  static final String ACCOUNT = GatewayProcess.ACCOUNT;
  static final String TRUST = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
      + "{\"AWS\":\"arn:aws:iam::" + ACCOUNT + ":root\"},\"Action\":\"sts:AssumeRole\"}]}";
  static final String ASSUME = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
      + "\"sts:AssumeRole\",\"Resource\":\"arn:aws:iam::" + ACCOUNT + ":role/app\"}]}";
  static final String KMS_USE = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
      + "[\"kms:Encrypt\",\"kms:Decrypt\"],\"Resource\":\"*\"}]}";

  private static GatewayProcess gateway;
  private static Path work;
  private static String[] alice;
  private static String[] session;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayProcess.start("identities");
    work = gateway.dataDir().resolveSibling(gateway.dataDir().getFileName() + "-cli");
    Files.createDirectories(work);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  /** {@code aws <args>} against the gateway, with the given credentials (id, secret, and token or null). */
  static AwsCli.Result aws(String[] credentials, String... args) throws Exception {
    return new AwsCli(gateway, work).as(credentials[0], credentials[1], credentials.length > 2 ? credentials[2] : null)
        .any(args);
  }

  static JsonObject ok(String[] credentials, String... args) throws Exception {
    AwsCli.Result r = aws(credentials, args);
    assertEquals(0, r.exit(), "aws " + String.join(" ", args) + " failed: " + r.err());
    return r.out().isBlank() ? new JsonObject() : new JsonObject(r.out());
  }

  static String[] admin() {
    return new String[] {GatewayProcess.ACCESS_KEY_ID, GatewayProcess.SECRET};
  }

  @Test
  @Order(1)
  void cli_managesUsersKeysAndInlinePolicies() throws Exception {
    JsonObject user = ok(admin(), "iam", "create-user", "--user-name", "alice").getJsonObject("User");
    assertEquals("arn:aws:iam::" + ACCOUNT + ":user/alice", user.getString("Arn"));
    JsonObject key = ok(admin(), "iam", "create-access-key", "--user-name", "alice").getJsonObject("AccessKey");
    assertTrue(key.getString("AccessKeyId").matches("AKIA[A-Z2-7]{16}"));
    alice = new String[] {key.getString("AccessKeyId"), key.getString("SecretAccessKey")};
    ok(admin(), "iam", "put-user-policy", "--user-name", "alice", "--policy-name", "assume-app",
        "--policy-document", ASSUME);
    JsonObject policy = ok(admin(), "iam", "get-user-policy", "--user-name", "alice", "--policy-name",
        "assume-app");
    // the CLI decodes IAM's URL-encoded policy documents back into JSON
    assertEquals(new JsonObject(ASSUME), policy.getJsonObject("PolicyDocument"));
    assertTrue(ok(admin(), "iam", "list-users").getJsonArray("Users").stream()
        .anyMatch(u -> ((JsonObject) u).getString("UserName").equals("alice")));
    assertEquals(key.getString("AccessKeyId"), ok(admin(), "iam", "list-access-keys", "--user-name", "alice")
        .getJsonArray("AccessKeyMetadata").getJsonObject(0).getString("AccessKeyId"));
    AwsCli.Result malformed = aws(admin(), "iam", "put-user-policy", "--user-name", "alice", "--policy-name", "bad",
        "--policy-document", "{\"Statement\":\"nope\"}");
    assertTrue(malformed.err().contains("MalformedPolicyDocument"), malformed.err());
    AwsCli.Result missing = aws(admin(), "iam", "get-user-policy", "--user-name", "nobody", "--policy-name", "x");
    assertTrue(missing.err().contains("NoSuchEntity"), missing.err());

    JsonObject me = ok(alice, "sts", "get-caller-identity");
    assertEquals("arn:aws:iam::" + ACCOUNT + ":user/alice", me.getString("Arn"));
    assertEquals(ACCOUNT, me.getString("Account"));
    AwsCli.Result denied = aws(alice, "iam", "list-users");
    assertTrue(denied.err().contains("AccessDenied"), denied.err());
  }

  @Test
  @Order(2)
  void sdk_createsAndDeletesAUser_withIamErrorsMappedToItsExceptions() {
    try (IamClient iam = IamClient.builder().endpointOverride(gateway.endpoint()).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
            GatewayProcess.ACCESS_KEY_ID, GatewayProcess.SECRET)))
        .httpClient(UrlConnectionHttpClient.create()).build()) {
      assertEquals("bob", iam.createUser(r -> r.userName("bob")).user().userName());
      assertThrows(EntityAlreadyExistsException.class, () -> iam.createUser(r -> r.userName("BOB")));
      iam.deleteUser(r -> r.userName("bob"));
      assertThrows(NoSuchEntityException.class, () -> iam.deleteUser(r -> r.userName("bob")));
    }
  }

  @Test
  @Order(3)
  void cli_createsARole_andAUserAssumesIt() throws Exception {
    JsonObject role = ok(admin(), "iam", "create-role", "--role-name", "app", "--assume-role-policy-document",
        TRUST).getJsonObject("Role");
    assertEquals("arn:aws:iam::" + ACCOUNT + ":role/app", role.getString("Arn"));
    ok(admin(), "iam", "put-role-policy", "--role-name", "app", "--policy-name", "use-keys", "--policy-document",
        KMS_USE);
    JsonObject assumed = ok(alice, "sts", "assume-role", "--role-arn", role.getString("Arn"),
        "--role-session-name", "it-session", "--duration-seconds", "900");
    JsonObject c = assumed.getJsonObject("Credentials");
    assertTrue(c.getString("AccessKeyId").startsWith("ASIA"));
    session = new String[] {c.getString("AccessKeyId"), c.getString("SecretAccessKey"), c.getString("SessionToken")};
    JsonObject me = ok(session, "sts", "get-caller-identity");
    assertEquals("arn:aws:sts::" + ACCOUNT + ":assumed-role/app/it-session", me.getString("Arn"));
    assertEquals(assumed.getJsonObject("AssumedRoleUser").getString("AssumedRoleId"), me.getString("UserId"));
    AwsCli.Result wrongToken = aws(new String[] {session[0], session[1], session[2] + "x"}, "sts", "get-caller-identity");
    assertTrue(wrongToken.err().contains("InvalidClientTokenId"), wrongToken.err());
    AwsCli.Result noToken = aws(new String[] {session[0], session[1]}, "sts", "get-caller-identity");
    assertTrue(noToken.err().contains("InvalidClientTokenId"), noToken.err());
    // the SDK's STS client sends the session token too
    try (StsClient sts = stsClient(session)) {
      assertEquals(me.getString("Arn"), sts.getCallerIdentity().arn());
    }
    AwsCli.Result denied = aws(session, "iam", "list-users");
    assertTrue(denied.err().contains("AccessDenied"), denied.err());
  }

  static StsClient stsClient(String[] c) {
    return StsClient.builder().endpointOverride(gateway.endpoint()).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsSessionCredentials.create(c[0], c[1], c[2])))
        .httpClient(UrlConnectionHttpClient.create())
        .overrideConfiguration(ClientOverrideConfiguration.builder().build()).build();
  }

  @Test
  @Order(4)
  void cli_deletesWhatItCreated_deleteRefusedWhileKeysOrPoliciesRemain() throws Exception {
    AwsCli.Result conflict = aws(admin(), "iam", "delete-user", "--user-name", "alice");
    assertTrue(conflict.err().contains("DeleteConflict"), conflict.err());
    ok(admin(), "iam", "create-user", "--user-name", "temp");
    JsonObject key = ok(admin(), "iam", "create-access-key", "--user-name", "temp").getJsonObject("AccessKey");
    String[] temp = {key.getString("AccessKeyId"), key.getString("SecretAccessKey")};
    ok(temp, "sts", "get-caller-identity");
    ok(admin(), "iam", "delete-access-key", "--user-name", "temp", "--access-key-id", temp[0]);
    AwsCli.Result gone = aws(temp, "sts", "get-caller-identity");
    assertTrue(gone.err().contains("InvalidClientTokenId"), gone.err());
    ok(admin(), "iam", "delete-user", "--user-name", "temp");
    ok(admin(), "iam", "delete-user-policy", "--user-name", "alice", "--policy-name", "assume-app");
    AwsCli.Result policyGone = aws(admin(), "iam", "get-user-policy", "--user-name", "alice", "--policy-name",
        "assume-app");
    assertTrue(policyGone.err().contains("NoSuchEntity"), policyGone.err());
  }

  @Test
  @Order(5)
  void afterARestart_usersStay_andTheSessionAnswersExpiredTokenOnceExpired() throws Exception {
    gateway.stop();
    gateway = GatewayProcess.restartWith(gateway, Map.of("KMSGW_DEV_CLOCK_OFFSET_DAYS", "1"));
    assertEquals("arn:aws:iam::" + ACCOUNT + ":user/alice", ok(alice, "sts", "get-caller-identity")
        .getString("Arn"));
    AwsCli.Result expired = aws(session, "sts", "get-caller-identity");
    assertNotEquals(0, expired.exit());
    assertTrue(expired.err().contains("ExpiredToken"), expired.err());
    AwsCli.Result kms = aws(session, "kms", "list-keys");
    assertTrue(kms.err().contains("ExpiredTokenException"), kms.err());
    try (StsClient sts = stsClient(session)) {
      assertThrows(ExpiredTokenException.class, sts::getCallerIdentity);
    }
  }
}
