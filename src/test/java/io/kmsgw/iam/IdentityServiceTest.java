package io.kmsgw.iam;

import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.auth.AccessKey;
import io.kmsgw.auth.SigV4Signer;
import io.kmsgw.auth.SigV4Verifier;
import io.kmsgw.auth.SignedRequest;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.keystore.SecretSealer;
import io.kmsgw.store.jdbc.JdbcMetadataStore;
import io.kmsgw.testing.KmsFixture;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Identities on a real SoftHSM2 token (sealing) and a real H2 store. */
class IdentityServiceTest {
  static final String A = "111122223333";
  static final String B = "444455556666";
  static final Caller ROOT_A = new Caller("arn:aws:iam::" + A + ":root", A, A, "AKIAROOTAAAAAAAAAAAA", "Root");
  static final Caller ROOT_B = new Caller("arn:aws:iam::" + B + ":root", B, B, "AKIAROOTBBBBBBBBBBBB", "Root");

  static KmsFixture f;
  static Identities identities;
  static IamService iam;
  static StsService sts;
  static IdentityLoader loader;

  @BeforeAll
  static void start() {
    f = new KmsFixture("identities");
    identities = fresh();
  }

  /** A gateway's identities as wired at start: roots, then the stored rows, then the secrets unsealed. */
  static Identities fresh() {
    Identities ids = new Identities(List.of(new AccessKey(ROOT_A.accessKeyId(), "rootSecretA0000000000", ROOT_A),
        new AccessKey(ROOT_B.accessKeyId(), "rootSecretB0000000000", ROOT_B)));
    var store = ((JdbcMetadataStore) f.store).identities();
    SecretSealer sealer = SecretSealer.identities(f.stores);
    loader = new IdentityLoader(ids, store, sealer, f.clock);
    loader.load();
    try {
      loader.unsealConnected();
    } catch (io.kmsgw.hsm.HsmException e) {
      throw new IllegalStateException(e);
    }
    iam = new IamService(ids, store, sealer, f.storeExecutor, f.clock);
    sts = new StsService(ids, iam, store, sealer, f.clock);
    return ids;
  }

  @AfterAll
  static void stop() {
    f.close();
  }

  static void refused(ErrorCode code, Runnable r) {
    KmsException e = assertThrows(KmsException.class, r::run);
    assertEquals(code, e.code(), e.getMessage());
  }

  static <T> T get(CompletionStage<T> s) {
    return await(s);
  }

  /** A user with one access key and, optionally, an inline policy; the caller its key signs as. */
  static Caller userWithKey(Caller root, String name, String policy) {
    get(iam.createUser(root, name, null));
    if (policy != null) {
      get(iam.putUserPolicy(root, name, "p", policy));
    }
    IamService.NewAccessKey k = get(iam.createAccessKey(root, name));
    return identities.find(k.key().accessKeyId()).orElseThrow().identity();
  }

  static String allow(String action, String resource) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"" + action
        + "\",\"Resource\":\"" + resource + "\"}]}";
  }

  static String trust(String principal, String condition) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + principal
        + "\"},\"Action\":\"sts:AssumeRole\"" + (condition == null ? "" : ",\"Condition\":" + condition) + "}]}";
  }

  @Test
  void users_createListGetDelete_andNamesAreUniqueWithoutRegardToCase() {
    Identities.User u = get(iam.createUser(ROOT_A, "carol", "/team/"));
    assertEquals("arn:aws:iam::" + A + ":user/team/carol", u.arn());
    assertTrue(u.userId().matches("AIDA[A-Z2-7]{17}"));
    refused(ErrorCode.ALREADY_EXISTS, () -> get(iam.createUser(ROOT_A, "CAROL", null)));
    assertTrue(iam.listUsers(ROOT_A, "/team/", null, null).items().contains(u));
    assertTrue(iam.listUsers(ROOT_B, null, null, null).items().stream().noneMatch(x -> x.name().equals("carol")));
    assertEquals(u, iam.getUser(ROOT_A, "carol"));
    get(iam.deleteUser(ROOT_A, "carol"));
    refused(ErrorCode.NOT_FOUND, () -> iam.getUser(ROOT_A, "carol"));
    refused(ErrorCode.VALIDATION, () -> get(iam.createUser(ROOT_A, "bad name", null)));
  }

  @Test
  void listUsers_pagesWithMarker() {
    for (String n : List.of("page1", "page2", "page3")) {
      get(iam.createUser(ROOT_B, n, "/paging/"));
    }
    IamService.Page<Identities.User> first = iam.listUsers(ROOT_B, "/paging/", null, 2);
    assertEquals(2, first.items().size());
    IamService.Page<Identities.User> second = iam.listUsers(ROOT_B, "/paging/", first.nextMarker(), 2);
    assertEquals(List.of("page3"), second.items().stream().map(Identities.User::name).toList());
    assertEquals(null, second.nextMarker());
  }

  @Test
  void accessKeys_atMostTwo_deleteTakesEffectAtOnce_andUserWithKeysCannotBeDeleted() {
    get(iam.createUser(ROOT_A, "dave", null));
    IamService.NewAccessKey k1 = get(iam.createAccessKey(ROOT_A, "dave"));
    IamService.NewAccessKey k2 = get(iam.createAccessKey(ROOT_A, "dave"));
    assertTrue(k1.key().accessKeyId().matches("AKIA[A-Z2-7]{16}"));
    assertEquals(40, k1.secretAccessKey().length());
    refused(ErrorCode.LIMIT_EXCEEDED, () -> get(iam.createAccessKey(ROOT_A, "dave")));
    assertEquals(2, iam.listAccessKeys(ROOT_A, "dave").keys().size());
    Caller dave = identities.find(k1.key().accessKeyId()).orElseThrow().identity();
    assertEquals("IAMUser", dave.type());
    assertEquals("arn:aws:iam::" + A + ":user/dave", dave.arn());
    refused(ErrorCode.CONFLICT, () -> get(iam.deleteUser(ROOT_A, "dave")));
    get(iam.deleteAccessKey(ROOT_A, "dave", k1.key().accessKeyId()));
    assertTrue(identities.find(k1.key().accessKeyId()).isEmpty());
    // a user manages its own keys when a policy allows it, naming no user
    refused(ErrorCode.ACCESS_DENIED, () -> iam.listAccessKeys(dave, null));
    get(iam.deleteAccessKey(ROOT_A, "dave", k2.key().accessKeyId()));
    get(iam.deleteUser(ROOT_A, "dave"));
  }

  @Test
  void inlinePolicies_malformedRefused_putGetDelete_andTheyAuthorizeIamActions() {
    Caller erin = userWithKey(ROOT_A, "erin", null);
    refused(ErrorCode.MALFORMED_POLICY_DOCUMENT, () -> get(iam.putUserPolicy(ROOT_A, "erin", "bad", "{\"nope\":1}")));
    refused(ErrorCode.ACCESS_DENIED, () -> get(iam.createUser(erin, "frank", null)));
    String doc = allow("iam:CreateUser", "arn:aws:iam::" + A + ":user/*");
    get(iam.putUserPolicy(ROOT_A, "erin", "create-users", doc));
    assertEquals(doc, iam.getUserPolicy(ROOT_A, "erin", "create-users").policy().document().source());
    assertEquals(1, identities.of(erin).size());
    get(iam.createUser(erin, "frank", null));
    refused(ErrorCode.ACCESS_DENIED, () -> get(iam.deleteUser(erin, "frank")));
    refused(ErrorCode.CONFLICT, () -> get(iam.deleteUser(ROOT_A, "erin")));
    get(iam.deleteUserPolicy(ROOT_A, "erin", "create-users"));
    assertEquals(List.of(), identities.of(erin));
    refused(ErrorCode.NOT_FOUND, () -> iam.getUserPolicy(ROOT_A, "erin", "create-users"));
  }

  @Test
  void createRole_onlyAtPathSlash_withAValidTrustPolicy() {
    refused(ErrorCode.VALIDATION, () -> get(iam.createRole(ROOT_A, new IamService.NewRole("pathed", "/x/",
        trust(A, null), null, null))));
    refused(ErrorCode.MALFORMED_POLICY_DOCUMENT, () -> get(iam.createRole(ROOT_A, new IamService.NewRole("bad",
        null, allow("sts:AssumeRole", "*"), null, null))));
    Identities.Role r = get(iam.createRole(ROOT_A, new IamService.NewRole("plain", null, trust(A, null), "d",
        null)));
    assertEquals(3600, r.maxSessionSeconds());
    assertTrue(r.roleId().startsWith("AROA"));
    get(iam.putRolePolicy(ROOT_A, "plain", "p", allow("kms:Encrypt", "*")));
    refused(ErrorCode.CONFLICT, () -> get(iam.deleteRole(ROOT_A, "plain")));
    get(iam.deleteRolePolicy(ROOT_A, "plain", "p"));
    get(iam.deleteRole(ROOT_A, "plain"));
  }

  @Test
  void iamConditions_seeTheTransport() {
    String policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:*\","
        + "\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"iam:*\",\"Resource\":\"*\",\"Condition\":"
        + "{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}";
    Caller admin = userWithKey(ROOT_A, "tls-only-admin", policy);
    refused(ErrorCode.ACCESS_DENIED, () -> get(iam.createUser(admin.in(new Caller.Scope("10.0.0.1", null, null,
        false)), "over-http", null)));
    get(iam.createUser(admin.in(new Caller.Scope("10.0.0.1", null, null, true)), "over-tls", null));
  }

  @Test
  void assumeRole_sameAccount_needsTrustAndIdentityPolicy_andTheSessionHasTheRolesPolicies() {
    get(iam.createRole(ROOT_A, new IamService.NewRole("app", null, trust(A, null), null, null)));
    get(iam.putRolePolicy(ROOT_A, "app", "use", allow("kms:Decrypt", "*")));
    Caller without = userWithKey(ROOT_A, "gina", null);
    StsService.AssumeRole req = new StsService.AssumeRole("arn:aws:iam::" + A + ":role/app", "s1", 900, null);
    refused(ErrorCode.ACCESS_DENIED, () -> get(sts.assumeRole(without, req)));
    Caller with = userWithKey(ROOT_A, "hank", allow("sts:AssumeRole", "arn:aws:iam::" + A + ":role/app"));
    StsService.Credentials c = get(sts.assumeRole(with, req));
    assertTrue(c.accessKeyId().matches("ASIA[A-Z2-7]{16}"));
    assertTrue(c.sessionToken().length() >= 44);
    assertEquals("arn:aws:sts::" + A + ":assumed-role/app/s1", c.assumedRoleArn());
    Caller session = identities.find(c.accessKeyId()).orElseThrow().identity();
    assertEquals("AssumedRole", session.type());
    assertEquals(new StsService.CallerIdentity(c.assumedRoleId(), A, c.assumedRoleArn()),
        sts.getCallerIdentity(session));
    assertEquals(1, identities.of(session).size());
    refused(ErrorCode.VALIDATION, () -> get(sts.assumeRole(with, new StsService.AssumeRole(req.roleArn(), "s2",
        7200, null))));
    Caller wide = userWithKey(ROOT_A, "hugo", allow("sts:AssumeRole", "*"));
    refused(ErrorCode.ACCESS_DENIED, () -> get(sts.assumeRole(wide, new StsService.AssumeRole(
        "arn:aws:iam::" + A + ":role/missing", "s2", null, null))));
    // AWS refuses an account root's credentials for AssumeRole, even where the trust policy names the account
    KmsException root = assertThrows(KmsException.class, () -> get(sts.assumeRole(ROOT_A, req)));
    assertEquals(ErrorCode.ACCESS_DENIED, root.code());
    assertEquals("Roles may not be assumed by root accounts.", root.getMessage());
  }

  @Test
  void assumeRole_crossAccount_needsTheTrustPolicyToNameTheAccountAndTheCallersIam() {
    String condition = "{\"StringEquals\":{\"sts:ExternalId\":\"ext-123\"}}";
    get(iam.createRole(ROOT_A, new IamService.NewRole("partner", null, trust(B, condition), null, null)));
    String arn = "arn:aws:iam::" + A + ":role/partner";
    Caller noIam = userWithKey(ROOT_B, "ivy", null);
    Caller withIam = userWithKey(ROOT_B, "jack", allow("sts:AssumeRole", arn));
    refused(ErrorCode.ACCESS_DENIED, () -> get(sts.assumeRole(noIam, new StsService.AssumeRole(arn, "x1", null,
        "ext-123"))));
    refused(ErrorCode.ACCESS_DENIED, () -> get(sts.assumeRole(withIam, new StsService.AssumeRole(arn, "x1", null,
        "wrong-id"))));
    StsService.Credentials c = get(sts.assumeRole(withIam, new StsService.AssumeRole(arn, "x1", null, "ext-123")));
    assertEquals(A, identities.find(c.accessKeyId()).orElseThrow().identity().accountId());
    // another account's root is not in the trust policy of a role that names only B
    Caller otherUser = userWithKey(ROOT_A, "kate", allow("sts:AssumeRole", "*"));
    refused(ErrorCode.ACCESS_DENIED, () -> get(sts.assumeRole(otherUser, new StsService.AssumeRole(arn, "x2", null,
        "ext-123"))));
  }

  @Test
  void session_expires_thenAnswersExpiredToken_andIsPurgedAfterTheRetention() {
    get(iam.createRole(ROOT_A, new IamService.NewRole("short", null, trust(A, null), null, null)));
    Caller runner = userWithKey(ROOT_A, "runner", allow("sts:AssumeRole", "arn:aws:iam::" + A + ":role/short"));
    StsService.Credentials c = get(sts.assumeRole(runner, new StsService.AssumeRole(
        "arn:aws:iam::" + A + ":role/short", "brief", 900, null)));
    SigV4Verifier verifier = new SigV4Verifier("sts", List.of("us-east-1"), identities, Clock.systemUTC(), f.clock);
    assertEquals(c.assumedRoleArn(), verifier.verify(signed(c, "sts")).arn());
    f.clock.advance(Duration.ofSeconds(901));
    KmsException e = assertThrows(KmsException.class, () -> verifier.verify(signed(c, "sts")));
    assertEquals(ErrorCode.EXPIRED_TOKEN, e.code());
    get(sts.purgeExpired());
    e = assertThrows(KmsException.class, () -> verifier.verify(signed(c, "sts")));
    assertEquals(ErrorCode.EXPIRED_TOKEN, e.code(), "kept, without its secret, to answer ExpiredToken");
    f.clock.advance(StsService.EXPIRED_RETENTION);
    get(sts.purgeExpired());
    assertTrue(identities.find(c.accessKeyId()).isEmpty());
  }

  /** A request signed by kmsgw's own signer (tested against the SDK's), with the session token when given. */
  static SignedRequest signed(StsService.Credentials c, String service) {
    return request(c.accessKeyId(), c.secretAccessKey(), c.sessionToken(), service);
  }

  static SignedRequest request(String akid, String secret, String token, String service) {
    byte[] body = "Action=GetCallerIdentity&Version=2011-06-15".getBytes(StandardCharsets.UTF_8);
    Map<String, String> headers = new java.util.HashMap<>(Map.of("host", "127.0.0.1:8400"));
    if (token != null) {
      headers.put("x-amz-security-token", token);
    }
    Map<String, String> signed = new SigV4Signer(akid, secret, "us-east-1", service).sign("POST", "/", null,
        headers, body, Instant.now());
    Map<String, String> lower = new java.util.HashMap<>();
    signed.forEach((k, v) -> lower.put(k.toLowerCase(java.util.Locale.ROOT), v));
    return new SignedRequest() {
      public String method() {
        return "POST";
      }

      public String rawPath() {
        return "/";
      }

      public String rawQuery() {
        return null;
      }

      public List<String> headers(String name) {
        String v = lower.get(name.toLowerCase(java.util.Locale.ROOT));
        return v == null ? List.of() : List.of(v);
      }

      public byte[] body() {
        return body;
      }
    };
  }

  @Test
  void secrets_areSealedAtRest_andARestartKeepsUsersKeysAndSessions() throws Exception {
    get(iam.createUser(ROOT_A, "lena", null));
    get(iam.putUserPolicy(ROOT_A, "lena", "p", allow("sts:AssumeRole", "*")));
    IamService.NewAccessKey k = get(iam.createAccessKey(ROOT_A, "lena"));
    get(iam.createRole(ROOT_A, new IamService.NewRole("durable", null, trust(A, null), null, null)));
    StsService.Credentials c = get(sts.assumeRole(identities.find(k.key().accessKeyId()).orElseThrow().identity(),
        new StsService.AssumeRole("arn:aws:iam::" + A + ":role/durable", "kept", 3600, null)));

    List<String> everything = dump();
    for (String secret : List.of(k.secretAccessKey(), c.secretAccessKey(), c.sessionToken())) {
      assertFalse(everything.stream().anyMatch(v -> v.contains(secret)), "a secret is stored in clear");
    }

    Identities before = identities;
    identities = fresh();
    assertFalse(before == identities);
    assertEquals("arn:aws:iam::" + A + ":user/lena", iam.getUser(ROOT_A, "lena").arn());
    assertEquals(1, identities.of(identities.find(k.key().accessKeyId()).orElseThrow().identity()).size());
    SigV4Verifier iamVerifier = new SigV4Verifier("iam", List.of("us-east-1"), identities, Clock.systemUTC(),
        f.clock);
    assertEquals("arn:aws:iam::" + A + ":user/lena",
        iamVerifier.verify(request(k.key().accessKeyId(), k.secretAccessKey(), null, "iam")).arn());
    SigV4Verifier stsVerifier = new SigV4Verifier("sts", List.of("us-east-1"), identities, Clock.systemUTC(),
        f.clock);
    assertEquals(c.assumedRoleArn(), stsVerifier.verify(signed(c, "sts")).arn());
  }

  /** Every value of every identity table, as text (binary columns as ISO-8859-1, so bytes show as they are). */
  static List<String> dump() throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(io.kmsgw.store.jdbc.StoreFactory.embeddedUrl(f.dataDir));
        Statement s = c.createStatement()) {
      for (String table : List.of("iam_user", "iam_role", "iam_inline_policy", "iam_access_key", "sts_session")) {
        try (ResultSet rs = s.executeQuery("SELECT * FROM " + table)) {
          ResultSetMetaData md = rs.getMetaData();
          while (rs.next()) {
            for (int i = 1; i <= md.getColumnCount(); i++) {
              byte[] b = rs.getBytes(i);
              if (b != null) {
                out.add(new String(b, StandardCharsets.ISO_8859_1));
              }
              String text = rs.getString(i);
              if (text != null) {
                out.add(text);
              }
            }
          }
        }
      }
    }
    assertFalse(out.isEmpty());
    return out;
  }
}
