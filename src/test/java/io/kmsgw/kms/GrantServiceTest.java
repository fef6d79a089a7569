package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.SETTINGS;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.KmsApi;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.api.kms.ops.GrantOperations;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.Grant;
import io.kmsgw.domain.Grant.Constraints;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.store.MetadataStore;
import io.kmsgw.store.jdbc.StoreFactory;
import io.kmsgw.testing.KmsFixture;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Grants on a real SoftHSM2 token and H2 store, through the real services and the authorizer. */
class GrantServiceTest {
  private static final String ACCOUNT = "111122223333";
  private static final String APP_B_ARN = "arn:aws:iam::111122223333:user/app-b";
  private static final Caller APP_B = user("app-b");
  private static final Caller APP_C = user("app-c");
  private static final Caller READER_SESSION = new Caller("arn:aws:sts::111122223333:assumed-role/reader/s1",
      ACCOUNT, "AROAREADER:s1", "ASIAREADER", "AssumedRole");
  private static final Map<String, String> BILLING = Map.of("app", "billing");
  private static final Map<String, String> PAYROLL = Map.of("app", "payroll");

  private static KmsFixture kms;

  @BeforeAll
  static void setUp() {
    kms = new KmsFixture("grants");
  }

  @AfterAll
  static void tearDown() {
    kms.close();
  }

  private static Caller user(String name) {
    return new Caller("arn:aws:iam::" + ACCOUNT + ":user/" + name, ACCOUNT, "AIDA" + name, "AKIA" + name, "IAMUser");
  }

  private static KmsException refused(ErrorCode code, Supplier<?> call) {
    KmsException e = assertThrows(KmsException.class, call::get);
    assertEquals(code, e.code(), e.getMessage());
    return e;
  }

  private static GrantService.Created grant(Caller by, KeyRecord k, String grantee, List<String> ops,
      Constraints c) {
    return await(kms.grants.createGrant(by, k.keyId(), new GrantService.NewGrant(grantee, null, ops, c, null,
        false)));
  }

  private static byte[] encrypt(KeyRecord k, Map<String, String> context) {
    return await(kms.crypto.encrypt(ROOT, k.keyId(), "secret".getBytes(StandardCharsets.UTF_8), context, null,
        false)).ciphertextBlob();
  }

  private static byte[] decrypt(Caller caller, byte[] blob, Map<String, String> context) {
    return await(kms.crypto.decrypt(caller, blob, null, context, null, false, false)).plaintext();
  }

  @Test
  void grant_givesAppBDecryptForOneContextOnly_andRevokeTakesItAway() {
    KeyRecord k = kms.newKey();
    byte[] billing = encrypt(k, BILLING);
    byte[] payroll = encrypt(k, PAYROLL);
    refused(ErrorCode.ACCESS_DENIED, () -> decrypt(APP_B, billing, BILLING));

    GrantService.Created g = grant(ROOT, k, APP_B_ARN, List.of("Decrypt"), new Constraints(BILLING, null));
    assertArrayEquals("secret".getBytes(StandardCharsets.UTF_8), decrypt(APP_B, billing, BILLING));
    refused(ErrorCode.ACCESS_DENIED, () -> decrypt(APP_B, payroll, PAYROLL));
    refused(ErrorCode.ACCESS_DENIED, () -> decrypt(APP_C, billing, BILLING));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.crypto.encrypt(APP_B, k.keyId(), new byte[] {1}, BILLING, null,
        false)));

    await(kms.grants.revokeGrant(ROOT, k.keyId(), g.grant().grantId(), false));
    refused(ErrorCode.ACCESS_DENIED, () -> decrypt(APP_B, billing, BILLING));
    assertTrue(kms.grants.grantsOf(k.keyId()).isEmpty());
    assertTrue(kms.store.allGrants().stream().noneMatch(x -> x.keyId().equals(k.keyId())));
  }

  @Test
  void explicitDenyInTheKeyPolicy_beatsAGrant() {
    KeyRecord k = kms.newKey();
    byte[] blob = encrypt(k, BILLING);
    grant(ROOT, k, APP_B_ARN, List.of("Decrypt"), Constraints.NONE);
    assertEquals(6, decrypt(APP_B, blob, BILLING).length);
    kms.keyPolicies.put(k.keyId(), KeyPolicies.parse("""
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/app-b"},"Action":"kms:Decrypt",
           "Resource":"*"}]}"""));
    refused(ErrorCode.ACCESS_DENIED, () -> decrypt(APP_B, blob, BILLING));
  }

  @Test
  void grantAuthority_answersByKeyGranteeOperationAndConstraints() {
    KeyRecord k = kms.newKey();
    KeyRecord other = kms.newKey();
    grant(ROOT, k, APP_B_ARN, List.of("Decrypt"), new Constraints(BILLING, null));
    grant(ROOT, k, APP_B_ARN, List.of("Encrypt"), new Constraints(null, BILLING));
    grant(ROOT, k, "arn:aws:iam::111122223333:role/reader", List.of("Decrypt", "DescribeKey"), Constraints.NONE);

    assertTrue(kms.grants.allows(k, APP_B, "Decrypt", BILLING));
    assertFalse(kms.grants.allows(k, APP_B, "Decrypt", Map.of("app", "billing", "x", "1")), "Equals is exact");
    assertTrue(kms.grants.allows(k, APP_B, "Encrypt", Map.of("app", "billing", "x", "1")), "Subset allows more");
    assertFalse(kms.grants.allows(k, APP_B, "Encrypt", Map.of("x", "1")));
    assertFalse(kms.grants.allows(other, APP_B, "Decrypt", BILLING), "another key");
    assertFalse(kms.grants.allows(k, APP_C, "Decrypt", BILLING), "another grantee");
    assertTrue(kms.grants.allows(k, READER_SESSION, "Decrypt", Map.of()), "a session of the granted role");
    assertTrue(kms.grants.allows(k, READER_SESSION, "DescribeKey", Map.of()));
    assertFalse(kms.grants.allows(k, READER_SESSION, "Encrypt", Map.of()));
    // and through the services: DescribeKey by the role's session
    assertEquals(k.keyId(), await(kms.keys.lookup(READER_SESSION, "DescribeKey", k.keyId(), null)).keyId());
  }

  @Test
  void listGrants_showsEveryField_andFilters() {
    KeyRecord k = kms.newKey();
    GrantService.Created a = await(kms.grants.createGrant(ROOT, k.keyId(), new GrantService.NewGrant(APP_B_ARN,
        "arn:aws:iam::111122223333:role/admin", List.of("Decrypt", "RetireGrant"), new Constraints(null, BILLING),
        "billing-decrypt", false)));
    GrantService.Created b = grant(ROOT, k, "arn:aws:iam::111122223333:user/app-c", List.of("Encrypt"),
        Constraints.NONE);

    List<Grant> all = await(kms.grants.listGrants(ROOT, k.keyId(), null, null));
    assertEquals(List.of(a.grant().grantId(), b.grant().grantId()), all.stream().map(Grant::grantId).toList());
    Grant first = all.get(0);
    assertEquals("billing-decrypt", first.name());
    assertEquals(APP_B_ARN, first.granteePrincipal());
    assertEquals("arn:aws:iam::111122223333:role/admin", first.retiringPrincipal());
    assertEquals("arn:aws:iam::111122223333:root", first.issuingAccount());
    assertEquals(List.of("Decrypt", "RetireGrant"), first.operations());
    assertEquals(BILLING, first.constraints().encryptionContextSubset());
    assertTrue(first.grantId().matches("[0-9a-f]{64}"));

    assertEquals(List.of(b.grant()), await(kms.grants.listGrants(ROOT, k.keyId(), b.grant().grantId(), null)));
    assertEquals(List.of(a.grant()), await(kms.grants.listGrants(ROOT, k.keyId(), null, APP_B_ARN)));
    refused(ErrorCode.INVALID_GRANT_ID, () -> await(kms.grants.listGrants(ROOT, k.keyId(), "nope", null)));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.grants.listGrants(APP_B, k.keyId(), null, null)));
  }

  @Test
  void createGrant_withTheSameNameAndProperties_returnsTheExistingGrant() {
    KeyRecord k = kms.newKey();
    GrantService.NewGrant request = new GrantService.NewGrant(APP_B_ARN, null, List.of("Decrypt", "Encrypt"),
        new Constraints(BILLING, null), "retry-me", false);
    GrantService.Created first = await(kms.grants.createGrant(ROOT, k.keyId(), request));
    GrantService.Created again = await(kms.grants.createGrant(ROOT, k.keyId(), new GrantService.NewGrant(APP_B_ARN,
        null, List.of("Encrypt", "Decrypt"), new Constraints(BILLING, null), "retry-me", false)));
    assertEquals(first.grant().grantId(), again.grant().grantId());
    assertNotEquals(first.grantToken(), again.grantToken(), "every answer has a new token, as AWS does");
    assertEquals(1, kms.grants.grantsOf(k.keyId()).size());

    GrantService.Created otherOps = await(kms.grants.createGrant(ROOT, k.keyId(), new GrantService.NewGrant(
        APP_B_ARN, null, List.of("Decrypt"), new Constraints(BILLING, null), "retry-me", false)));
    assertNotEquals(first.grant().grantId(), otherOps.grant().grantId());
    GrantService.Created unnamed1 = grant(ROOT, k, APP_B_ARN, List.of("Decrypt"), Constraints.NONE);
    GrantService.Created unnamed2 = grant(ROOT, k, APP_B_ARN, List.of("Decrypt"), Constraints.NONE);
    assertNotEquals(unnamed1.grant().grantId(), unnamed2.grant().grantId(), "without a Name every call is new");
  }

  @Test
  void grantsPerKey_areLimited() {
    KeyRecord k = kms.newKey();
    GrantService limited = new GrantService(SETTINGS, kms.store, kms.keys, kms.stores, kms.authz,
        kms.lifecycleExecutor, kms.clock, 2);
    GrantService.NewGrant request = new GrantService.NewGrant(APP_B_ARN, null, List.of("Decrypt"),
        Constraints.NONE, null, false);
    await(limited.createGrant(ROOT, k.keyId(), request));
    GrantService.Created named = await(limited.createGrant(ROOT, k.keyId(), new GrantService.NewGrant(APP_B_ARN,
        null, List.of("Decrypt"), Constraints.NONE, "n", false)));
    refused(ErrorCode.LIMIT_EXCEEDED, () -> await(limited.createGrant(ROOT, k.keyId(), request)));
    assertEquals(named.grant().grantId(), await(limited.createGrant(ROOT, k.keyId(), new GrantService.NewGrant(
        APP_B_ARN, null, List.of("Decrypt"), Constraints.NONE, "n", false))).grant().grantId(),
        "a retry is not a new grant, even at the limit");
    assertEquals(2, limited.grantsOf(k.keyId()).size());
  }

  @Test
  void badRequests_changeNothing() {
    KeyRecord k = kms.newKey();
    refused(ErrorCode.VALIDATION, () -> grant(ROOT, k, APP_B_ARN, List.of("Decrypt", "Sign"), Constraints.NONE));
    refused(ErrorCode.VALIDATION, () -> grant(ROOT, k, APP_B_ARN, List.of(), Constraints.NONE));
    refused(ErrorCode.INVALID_ARN, () -> grant(ROOT, k, "app-b", List.of("Decrypt"), Constraints.NONE));
    refused(ErrorCode.INVALID_ARN, () -> await(kms.grants.createGrant(ROOT, k.keyId(), new GrantService.NewGrant(
        APP_B_ARN, "arn:aws:iam::111122223333:group/admins", List.of("Decrypt"), Constraints.NONE, null, false))));
    refused(ErrorCode.VALIDATION, () -> grant(ROOT, k, APP_B_ARN, List.of("Decrypt"),
        new Constraints(Map.of("k", "v".repeat(400)), null)));
    refused(ErrorCode.DRY_RUN_OPERATION, () -> await(kms.grants.createGrant(ROOT, k.keyId(),
        new GrantService.NewGrant(APP_B_ARN, null, List.of("Decrypt"), Constraints.NONE, null, true))));
    refused(ErrorCode.ACCESS_DENIED, () -> grant(APP_B, k, APP_B_ARN, List.of("Decrypt"), Constraints.NONE));
    assertTrue(kms.grants.grantsOf(k.keyId()).isEmpty());
    assertTrue(kms.store.allGrants().stream().noneMatch(g -> g.keyId().equals(k.keyId())));
  }

  @Test
  void keyState_disabledKeyTakesNoGrant_butGrantsAreListedAndRevoked() {
    KeyRecord k = kms.newKey();
    GrantService.Created g = grant(ROOT, k, APP_B_ARN, List.of("Decrypt"), Constraints.NONE);
    await(kms.lifecycle.disableKey(ROOT, k.keyId()));
    refused(ErrorCode.DISABLED, () -> grant(ROOT, k, APP_B_ARN, List.of("Encrypt"), Constraints.NONE));
    assertEquals(1, await(kms.grants.listGrants(ROOT, k.keyId(), null, null)).size());
    await(kms.lifecycle.scheduleDeletion(ROOT, k.keyId(), 30));
    refused(ErrorCode.KMS_INVALID_STATE, () -> grant(ROOT, k, APP_B_ARN, List.of("Encrypt"), Constraints.NONE));
    assertEquals(1, await(kms.grants.listGrants(ROOT, k.keyId(), null, null)).size());
    await(kms.grants.revokeGrant(ROOT, k.keyId(), g.grant().grantId(), false));
    await(kms.lifecycle.cancelDeletion(ROOT, k.keyId()));
  }

  @Test
  void retireGrant_byRetiringPrincipal_byGranteeWithRetireGrant_byToken_byTheAccount() {
    KeyRecord k = kms.newKey();
    GrantService.Created byRole = await(kms.grants.createGrant(ROOT, k.keyId(), new GrantService.NewGrant(APP_B_ARN,
        "arn:aws:iam::111122223333:role/reader", List.of("Decrypt"), Constraints.NONE, null, false)));
    GrantService.Created selfRetiring = grant(ROOT, k, APP_B_ARN, List.of("Decrypt", "RetireGrant"),
        Constraints.NONE);
    GrantService.Created notRetirable = grant(ROOT, k, APP_B_ARN, List.of("Decrypt"), Constraints.NONE);

    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.grants.retireGrant(APP_B, null, k.keyId(),
        byRole.grant().grantId(), false)));
    // a session of the retiring role, naming the grant by its token
    await(kms.grants.retireGrant(READER_SESSION, byRole.grantToken(), null, null, false));
    // the grantee, since the grant includes RetireGrant
    await(kms.grants.retireGrant(APP_B, null, k.keyId(), selfRetiring.grant().grantId(), false));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.grants.retireGrant(APP_B, notRetirable.grantToken(), null,
        null, false)));
    refused(ErrorCode.DRY_RUN_OPERATION, () -> await(kms.grants.retireGrant(ROOT, notRetirable.grantToken(), null,
        null, true)));
    // the key's account (kms:RetireGrant through the default key policy)
    await(kms.grants.retireGrant(ROOT, notRetirable.grantToken(), null, null, false));
    assertTrue(kms.grants.grantsOf(k.keyId()).isEmpty());
    refused(ErrorCode.NOT_FOUND, () -> await(kms.grants.retireGrant(ROOT, notRetirable.grantToken(), null, null,
        false)));
  }

  @Test
  void retireGrant_malformedIdentifiers() {
    KeyRecord k = kms.newKey();
    refused(ErrorCode.INVALID_GRANT_TOKEN, () -> await(kms.grants.retireGrant(ROOT, "forged", null, null, false)));
    refused(ErrorCode.INVALID_GRANT_ID, () -> await(kms.grants.retireGrant(ROOT, null, k.keyId(), "x", false)));
    refused(ErrorCode.VALIDATION, () -> await(kms.grants.retireGrant(ROOT, null, null, "0".repeat(64), false)));
    refused(ErrorCode.NOT_FOUND, () -> await(kms.grants.retireGrant(ROOT, null, k.keyId(), "0".repeat(64), false)));
    refused(ErrorCode.INVALID_GRANT_ID, () -> await(kms.grants.revokeGrant(ROOT, k.keyId(), "x", false)));
    refused(ErrorCode.NOT_FOUND, () -> await(kms.grants.revokeGrant(ROOT, k.keyId(), "0".repeat(64), false)));
  }

  @Test
  void granteeWithCreateGrant_createsOnlyNarrowerGrants() {
    KeyRecord k = kms.newKey();
    grant(ROOT, k, APP_B_ARN, List.of("Decrypt", "CreateGrant"), new Constraints(null, BILLING));
    GrantService.Created child = grant(APP_B, k, "arn:aws:iam::111122223333:user/app-c", List.of("Decrypt"),
        new Constraints(Map.of("app", "billing", "doc", "1"), null));
    assertTrue(kms.grants.allows(k, APP_C, "Decrypt", Map.of("app", "billing", "doc", "1")));
    refused(ErrorCode.ACCESS_DENIED, () -> grant(APP_B, k, "arn:aws:iam::111122223333:user/app-c",
        List.of("Decrypt", "Encrypt"), new Constraints(BILLING, null)));
    refused(ErrorCode.ACCESS_DENIED, () -> grant(APP_B, k, "arn:aws:iam::111122223333:user/app-c",
        List.of("Decrypt"), Constraints.NONE));
    refused(ErrorCode.ACCESS_DENIED, () -> grant(APP_C, k, APP_B_ARN, List.of("Decrypt"),
        new Constraints(BILLING, null)));
    assertEquals(2, kms.grants.grantsOf(k.keyId()).size());
    assertEquals(child.grant().grantId(), kms.grants.grantsOf(k.keyId()).get(1).grantId());
  }

  @Test
  void listRetirableGrants_byRetiringPrincipal_needsIamPermission() {
    KeyRecord k = kms.newKey();
    String retiring = "arn:aws:iam::111122223333:user/retirer-" + k.keyId().toString().substring(0, 8);
    GrantService.Created g = await(kms.grants.createGrant(ROOT, k.keyId(), new GrantService.NewGrant(APP_B_ARN,
        retiring, List.of("Decrypt"), Constraints.NONE, null, false)));
    assertEquals(List.of(g.grant()), await(kms.grants.listRetirableGrants(ROOT, retiring)));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.grants.listRetirableGrants(APP_B, retiring)));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.grants.listRetirableGrants(ROOT,
        "arn:aws:iam::444455556666:user/x")));
  }

  @Test
  void grantTokens_malformedAreRefusedOnEveryOperationThatTakesThem_throughTheApi() {
    KeyRecord k = kms.newKey();
    KmsApi api = new KmsApi(ServiceModel.kms(),
        new GrantOperations(kms.grants, new KeyIdResolver(SETTINGS, kms.aliases)).handlers());
    String body = "{\"KeyId\":\"" + k.keyId() + "\",\"GranteePrincipal\":\"" + APP_B_ARN
        + "\",\"Operations\":[\"Decrypt\"],\"GrantTokens\":[%s]}";
    KmsException e = refused(ErrorCode.INVALID_GRANT_TOKEN, () -> await(api.invoke(
        KmsApi.context("r1", "CreateGrant", ROOT), String.format(body, "\"not-a-token\"").getBytes())));
    assertFalse(e.getMessage().contains("not-a-token"));
    assertTrue(kms.grants.grantsOf(k.keyId()).isEmpty());

    OperationContext ctx = KmsApi.context("r2", "CreateGrant", ROOT);
    Map<String, Object> out = await(api.invoke(ctx, String.format(body, "").getBytes()));
    String token = (String) out.get("GrantToken");
    String grantId = (String) out.get("GrantId");
    Map<String, Object> again = await(api.invoke(KmsApi.context("r3", "CreateGrant", ROOT),
        String.format(body, "\"" + token + "\"").getBytes()));
    assertNotEquals(grantId, again.get("GrantId"));

    Map<String, Object> listed = await(api.invoke(KmsApi.context("r4", "ListGrants", ROOT),
        ("{\"KeyId\":\"" + k.arn() + "\",\"Limit\":1}").getBytes()));
    assertEquals(true, listed.get("Truncated"));
    @SuppressWarnings("unchecked")
    Map<String, Object> entry = ((List<Map<String, Object>>) listed.get("Grants")).get(0);
    assertEquals(k.arn(), entry.get("KeyId"));
    assertEquals(grantId, entry.get("GrantId"));
    assertEquals("arn:aws:iam::111122223333:root", entry.get("IssuingAccount"));
    refused(ErrorCode.VALIDATION, () -> await(api.invoke(KmsApi.context("r5", "ListGrants", ROOT),
        ("{\"KeyId\":\"" + k.arn() + "\",\"Limit\":101}").getBytes())));
    refused(ErrorCode.UNSUPPORTED_OPERATION, () -> await(api.invoke(KmsApi.context("r6", "CreateGrant", ROOT),
        ("{\"KeyId\":\"" + k.keyId() + "\",\"GranteeServicePrincipal\":\"s3.amazonaws.com\","
            + "\"Operations\":[\"Decrypt\"]}").getBytes())));
  }

  @Test
  void grantsAreGone_whenTheirKeyIsDeleted() {
    KeyRecord k = kms.newKey();
    grant(ROOT, k, APP_B_ARN, List.of("Decrypt"), new Constraints(BILLING, null));
    grant(ROOT, k, APP_B_ARN, List.of("Encrypt"), Constraints.NONE);
    await(kms.lifecycle.scheduleDeletion(ROOT, k.keyId(), 7));
    kms.clock.advance(Duration.ofDays(8));
    await(kms.lifecycle.runDueTasks());
    assertTrue(kms.grants.grantsOf(k.keyId()).isEmpty());
    assertFalse(kms.grants.allows(k, APP_B, "Decrypt", BILLING));
    assertTrue(kms.store.allGrants().stream().noneMatch(g -> g.keyId().equals(k.keyId())));
    refused(ErrorCode.NOT_FOUND, () -> await(kms.grants.listGrants(ROOT, k.keyId(), null, null)));
  }

  @Test
  void grants_surviveAReopenOfTheStore() {
    KmsFixture own = new KmsFixture("grants-reopen");
    KeyRecord k;
    Grant created;
    try {
      k = own.newKey();
      created = await(own.grants.createGrant(ROOT, k.keyId(), new GrantService.NewGrant(APP_B_ARN,
          "arn:aws:iam::111122223333:role/admin", List.of("Decrypt", "DescribeKey"),
          new Constraints(Map.of(), BILLING), "kept", false))).grant();
    } finally {
      own.close();
    }
    try (MetadataStore reopened = StoreFactory.open(StoreFactory.embeddedUrl(own.dataDir), null, null, 1)) {
      GrantService loaded = new GrantService(SETTINGS, reopened, null, null, null, null, own.clock,
          GrantService.DEFAULT_MAX_GRANTS_PER_KEY);
      loaded.load();
      assertEquals(List.of(created), loaded.grantsOf(k.keyId()));
      assertTrue(loaded.allows(k, APP_B, "DescribeKey", Map.of()));
      assertFalse(loaded.allows(k, APP_B, "Decrypt", BILLING), "EncryptionContextEquals {} survives as such");
    }
  }
}
