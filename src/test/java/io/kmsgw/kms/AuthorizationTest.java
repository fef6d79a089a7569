package io.kmsgw.kms;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.policy.PolicyParser;
import io.kmsgw.store.MetadataStore;
import io.kmsgw.testing.KmsFixture;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Key policies, IAM policies and the lockout safety check, enforced by the real services on a SoftHSM2 token: every
 * refusal is an AccessDeniedException with AWS's message and changes nothing.
 */
class AuthorizationTest {
  private static final String ACCOUNT = "111122223333";
  private static final String OTHER = "444455556666";
  private static final Caller APP_A = user(ACCOUNT, "app-a");
  private static final Caller APP_B = user(ACCOUNT, "app-b");
  private static final Caller KEY_ADMIN = user(ACCOUNT, "key-admin");
  private static final Caller STRANGER = user(ACCOUNT, "stranger");
  private static final Caller PARTNER = user(OTHER, "partner");
  private static final Map<String, String> CONTEXT = Map.of("app", "billing");

  private static KmsFixture kms;

  @BeforeAll
  static void setUp() {
    kms = new KmsFixture("authz");
  }

  @AfterAll
  static void tearDown() {
    kms.close();
  }

  private static Caller user(String account, String name) {
    return new Caller("arn:aws:iam::" + account + ":user/" + name, account, "AIDA" + name, "AKIA" + name, "IAMUser");
  }

  /** The role separation of the issue: administrators manage, app-a encrypts, app-b decrypts. */
  private static String separatedPolicy() {
    return """
        {"Version":"2012-10-17","Statement":[
          {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
           "Action":"kms:*","Resource":"*"},
          {"Sid":"Allow administration of the key","Effect":"Allow",
           "Principal":{"AWS":"arn:aws:iam::111122223333:user/key-admin"},
           "Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*","kms:Revoke*",
                     "kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource","kms:UntagResource",
                     "kms:ScheduleKeyDeletion","kms:CancelKeyDeletion","kms:RotateKeyOnDemand"],
           "Resource":"*"},
          {"Sid":"Encrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app-a"},
           "Action":["kms:Encrypt","kms:GenerateDataKey*"],"Resource":"*"},
          {"Sid":"Decrypt billing only","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app-b"},
           "Action":"kms:Decrypt","Resource":"*",
           "Condition":{"StringEquals":{"kms:EncryptionContext:app":"billing"}}}
        ]}""";
  }

  private static KeyRecord newKey(Caller caller, String policy, boolean bypass) {
    return await(kms.keys.createKey(caller, new KeyService.NewKey("authz", KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT,
        Origin.AWS_KMS, List.of(), null, false, policy, bypass)));
  }

  private static KmsException refused(ErrorCode code, Supplier<?> call) {
    KmsException e = assertThrows(KmsException.class, call::get);
    assertEquals(code, e.code(), e.getMessage());
    return e;
  }

  private static byte[] encrypt(Caller c, KeyRecord k, Map<String, String> context) {
    return await(kms.crypto.encrypt(c, k.keyId(), "secret".getBytes(StandardCharsets.UTF_8), context, null, false))
        .ciphertextBlob();
  }

  private static byte[] decrypt(Caller c, byte[] blob, Map<String, String> context) {
    return await(kms.crypto.decrypt(c, blob, null, context, null, false, false)).plaintext();
  }

  @Test
  void separatedDuties_eachPrincipalMayDoExactlyItsPart() {
    KeyRecord key = newKey(ROOT, separatedPolicy(), false);
    byte[] blob = encrypt(APP_A, key, CONTEXT);
    await(kms.crypto.generateDataKey(APP_A, key.keyId(), 32, CONTEXT, false));
    assertArrayEquals("secret".getBytes(StandardCharsets.UTF_8), decrypt(APP_B, blob, CONTEXT));

    KmsException e = refused(ErrorCode.ACCESS_DENIED, () -> decrypt(APP_A, blob, CONTEXT));
    assertEquals("User: arn:aws:iam::111122223333:user/app-a is not authorized to perform: kms:Decrypt on resource: "
        + key.arn() + " because no identity-based policy allows the kms:Decrypt action", e.getMessage());
    refused(ErrorCode.ACCESS_DENIED, () -> encrypt(APP_B, key, CONTEXT));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.lifecycle.disableKey(APP_A, key.keyId())));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.lifecycle.scheduleDeletion(APP_B, key.keyId(), 7)));

    // the administrator manages but cannot use the key
    await(kms.lifecycle.updateDescription(KEY_ADMIN, key.keyId(), "managed"));
    await(kms.lifecycle.disableKey(KEY_ADMIN, key.keyId()));
    await(kms.lifecycle.enableKey(KEY_ADMIN, key.keyId()));
    await(kms.keys.lookup(KEY_ADMIN, "DescribeKey", key.keyId(), null));
    refused(ErrorCode.ACCESS_DENIED, () -> encrypt(KEY_ADMIN, key, CONTEXT));
    refused(ErrorCode.ACCESS_DENIED, () -> decrypt(KEY_ADMIN, blob, CONTEXT));

    // a principal the policy does not name, without IAM policies, may do nothing
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.keys.lookup(STRANGER, "DescribeKey", key.keyId(), null)));
  }

  @Test
  void conditionOnEncryptionContext_decryptUnderAnotherContextIsRefused() {
    KeyRecord key = newKey(ROOT, separatedPolicy(), false);
    Map<String, String> other = Map.of("app", "payroll");
    byte[] blob = encrypt(APP_A, key, other);
    KmsException e = refused(ErrorCode.ACCESS_DENIED, () -> decrypt(APP_B, blob, other));
    assertTrue(e.getMessage().contains("kms:Decrypt"), e.getMessage());
    // with no context at all, the condition key is absent and StringEquals does not match
    byte[] bare = encrypt(APP_A, key, Map.of());
    refused(ErrorCode.ACCESS_DENIED, () -> decrypt(APP_B, bare, Map.of()));
  }

  @Test
  void defaultPolicy_delegatesToIam_identityPolicyAllowsOneActionOnOneKey() {
    KeyRecord key = newKey(ROOT, null, false);
    KeyRecord other = newKey(ROOT, null, false);
    Caller iamUser = user(ACCOUNT, "iam-only");
    refused(ErrorCode.ACCESS_DENIED, () -> encrypt(iamUser, key, CONTEXT));
    kms.iamPolicies.put(iamUser.arn(), List.of(PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"%s"}]}"""
        .formatted(key.arn()), PolicyParser.Kind.IDENTITY)));
    encrypt(iamUser, key, CONTEXT);
    refused(ErrorCode.ACCESS_DENIED, () -> encrypt(iamUser, other, CONTEXT));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.crypto.generateDataKey(iamUser, key.keyId(), 32, CONTEXT,
        false)));
    // the account root has every IAM permission of its account
    encrypt(ROOT, key, CONTEXT);
  }

  @Test
  void explicitDenyInTheKeyPolicy_beatsTheAllowOfIam() {
    KeyRecord key = newKey(ROOT, """
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/denied"},"Action":"kms:Decrypt",
           "Resource":"*"}]}""", false);
    Caller denied = user(ACCOUNT, "denied");
    kms.iamPolicies.put(denied.arn(), List.of(PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}""",
        PolicyParser.Kind.IDENTITY)));
    byte[] blob = encrypt(denied, key, CONTEXT);
    KmsException e = refused(ErrorCode.ACCESS_DENIED, () -> decrypt(denied, blob, CONTEXT));
    assertTrue(e.getMessage().endsWith("with an explicit deny in a resource-based policy"), e.getMessage());
  }

  @Test
  void crossAccount_needsBothTheKeyPolicyAndTheOtherAccountsIam() {
    Caller partner = PARTNER;
    KeyRecord notShared = newKey(ROOT, null, false);
    KeyRecord shared = newKey(ROOT, """
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},
           "Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}""", false);
    // the key policy allows account B, but B's IAM does not allow yet
    KmsException e = refused(ErrorCode.ACCESS_DENIED, () -> encrypt(partner, shared, CONTEXT));
    assertTrue(e.getMessage().contains("no identity-based policy"), e.getMessage());
    kms.iamPolicies.put(partner.arn(), List.of(PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],
          "Resource":["%s","%s"]}]}""".formatted(shared.arn(), notShared.arn()), PolicyParser.Kind.IDENTITY)));
    byte[] blob = encrypt(partner, shared, CONTEXT);
    assertArrayEquals("secret".getBytes(StandardCharsets.UTF_8), decrypt(partner, blob, CONTEXT));
    // B's IAM alone is not enough where the key policy does not name B
    e = refused(ErrorCode.ACCESS_DENIED, () -> encrypt(partner, notShared, CONTEXT));
    assertTrue(e.getMessage().contains("no resource-based policy"), e.getMessage());
    // and B cannot create keys here
    refused(ErrorCode.UNSUPPORTED_OPERATION, () -> newKey(partner, null, false));
  }

  @Test
  void anotherAccount_usesASharedKey_butNeverManagesItOrTheAccount() {
    Caller otherRoot = new Caller("arn:aws:iam::" + OTHER + ":root", OTHER, OTHER, "AKIAOTHERROOT", "Root");
    KeyRecord key = newKey(ROOT, """
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:*","Resource":"*"}]}""",
        false);
    // the key policy gives account B kms:*: it may use and describe the key
    byte[] blob = encrypt(otherRoot, key, CONTEXT);
    decrypt(otherRoot, blob, CONTEXT);
    await(kms.keys.lookup(otherRoot, "DescribeKey", key.keyId(), null));
    // but not manage it: AWS allows those operations only in the key's own account
    KmsException e = refused(ErrorCode.ACCESS_DENIED, () -> await(kms.lifecycle.putKeyPolicy(otherRoot, key.keyId(),
        null, KeyPolicies.defaultPolicy(OTHER), true)));
    assertTrue(e.getMessage().endsWith("because kms:PutKeyPolicy cannot be used on a key of another account"),
        e.getMessage());
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.lifecycle.scheduleDeletion(otherRoot, key.keyId(), 7)));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.lifecycle.disableKey(otherRoot, key.keyId())));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.lifecycle.getKeyPolicy(otherRoot, key.keyId(), null)));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.aliases.create(otherRoot, "alias/taken-over", key.keyId())));
    // nor act on the gateway's account: list its keys and aliases, draw its HSM's random numbers
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.keys.listKeys(otherRoot, null, 10)));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.aliases.list(otherRoot, null, null, 10)));
    e = refused(ErrorCode.ACCESS_DENIED, () -> await(kms.crypto.generateRandom(otherRoot, 16, null)));
    assertTrue(e.getMessage().endsWith("acts on the account 111122223333 only"), e.getMessage());
  }

  @Test
  void keyPolicy_isReturnedAsSubmitted_andPutKeyPolicyReplacesIt() {
    KeyRecord key = newKey(ROOT, null, false);
    assertEquals(KeyPolicies.defaultPolicy(ACCOUNT), await(kms.lifecycle.getKeyPolicy(ROOT, key.keyId(), null)));
    refused(ErrorCode.NOT_FOUND, () -> await(kms.lifecycle.getKeyPolicy(ROOT, key.keyId(), "other")));

    String mine = separatedPolicy();
    await(kms.lifecycle.putKeyPolicy(ROOT, key.keyId(), "default", mine, false));
    assertEquals(mine, await(kms.lifecycle.getKeyPolicy(ROOT, key.keyId(), "default")));
    encrypt(APP_A, key, CONTEXT);

    // a reopened store gives back the same policies
    KeyPolicies reloaded = new KeyPolicies();
    reloaded.load(kms.store);
    assertEquals(mine, reloaded.of(key).source());
  }

  @Test
  void reloadedPolicies_withTheSameText_shareOneParsedDocument() {
    KeyRecord first = newKey(ROOT, null, false);
    KeyRecord second = newKey(ROOT, null, false);
    KeyRecord separated = newKey(ROOT, separatedPolicy(), false);
    KeyPolicies reloaded = new KeyPolicies();
    reloaded.load(kms.store);
    assertSame(reloaded.of(first), reloaded.of(second), "the stored default policy is parsed once");
    assertEquals(KeyPolicies.defaultPolicy(ACCOUNT), reloaded.of(first).source());
    assertEquals(separatedPolicy(), reloaded.of(separated).source());
    assertNotSame(reloaded.of(first), reloaded.of(separated));
  }

  @Test
  void malformedOrLockingOutPolicies_areRefusedAndChangeNothing() {
    KeyRecord key = newKey(ROOT, separatedPolicy(), false);
    KmsException e = refused(ErrorCode.MALFORMED_POLICY_DOCUMENT, () -> await(kms.lifecycle.putKeyPolicy(ROOT,
        key.keyId(), null, "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"kms:*\",\"Resource\":\"*\"}]}",
        false)));
    assertTrue(e.getMessage().contains("Principal"), e.getMessage());
    refused(ErrorCode.MALFORMED_POLICY_DOCUMENT, () -> await(kms.lifecycle.putKeyPolicy(ROOT, key.keyId(), null,
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\","
            + "\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"kms:NoSuchKey\":\"x\"}}}]}", false)));

    String lockout = """
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow",
          "Principal":{"AWS":"arn:aws:iam::111122223333:user/app-a"},"Action":"kms:Encrypt","Resource":"*"}]}""";
    e = refused(ErrorCode.MALFORMED_POLICY_DOCUMENT, () -> await(kms.lifecycle.putKeyPolicy(KEY_ADMIN, key.keyId(),
        null, lockout, false)));
    assertEquals(KeyPolicies.LOCKOUT_MESSAGE, e.getMessage());
    assertEquals(separatedPolicy(), await(kms.lifecycle.getKeyPolicy(ROOT, key.keyId(), null)));
    refused(ErrorCode.MALFORMED_POLICY_DOCUMENT, () -> newKey(ROOT, lockout, false));
    refused(ErrorCode.LIMIT_EXCEEDED, () -> await(kms.lifecycle.putKeyPolicy(ROOT, key.keyId(), null,
        " ".repeat(KeyPolicies.MAX_BYTES + 1), false)));

    // a principal who may not PutKeyPolicy is refused before the document matters
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.lifecycle.putKeyPolicy(APP_A, key.keyId(), null,
        separatedPolicy(), false)));

    // bypassing the check is the caller's choice: afterwards even the root cannot manage the key
    await(kms.lifecycle.putKeyPolicy(KEY_ADMIN, key.keyId(), null, lockout, true));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.lifecycle.getKeyPolicy(ROOT, key.keyId(), null)));
    encrypt(APP_A, key, CONTEXT);
    KeyRecord created = newKey(ROOT, lockout, true);
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.keys.lookup(ROOT, "DescribeKey", created.keyId(), null)));
  }

  @Test
  void accountLevelActions_needAnIamPolicy() {
    Caller lister = user(ACCOUNT, "lister");
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.keys.listKeys(lister, null, 10)));
    refused(ErrorCode.ACCESS_DENIED, () -> newKey(lister, null, false));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.crypto.generateRandom(lister, 16, null)));
    kms.iamPolicies.put(lister.arn(), List.of(PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:List*","kms:CreateKey"],
          "Resource":"*"}]}""", PolicyParser.Kind.IDENTITY)));
    await(kms.keys.listKeys(lister, null, 10));
    // a key created with the default policy: the creator's IAM decides what it may do with it
    KeyRecord k = newKey(lister, null, false);
    refused(ErrorCode.ACCESS_DENIED, () -> encrypt(lister, k, CONTEXT));
  }

  @Test
  void aliasConditions_requestAliasAndResourceAliases() {
    KeyRecord key = newKey(ROOT, """
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/via-alias"},"Action":"kms:Encrypt",
           "Resource":"*","Condition":{"StringEquals":{"kms:RequestAlias":"alias/billing"}}},
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/tagged"},"Action":"kms:Encrypt",
           "Resource":"*","Condition":{"ForAnyValue:StringLike":{"kms:ResourceAliases":"alias/team-*"}}}]}""",
        false);
    Caller viaAlias = user(ACCOUNT, "via-alias");
    Caller tagged = user(ACCOUNT, "tagged");
    refused(ErrorCode.ACCESS_DENIED, () -> encrypt(viaAlias, key, CONTEXT));
    encrypt(viaAlias.in(new Caller.Scope(null, "alias/billing", null)), key, CONTEXT);
    refused(ErrorCode.ACCESS_DENIED, () -> encrypt(viaAlias.in(new Caller.Scope(null, "alias/other", null)), key,
        CONTEXT));

    refused(ErrorCode.ACCESS_DENIED, () -> encrypt(tagged, key, CONTEXT));
    await(kms.aliases.create(ROOT, "alias/team-billing", key.keyId()));
    encrypt(tagged, key, CONTEXT);
  }

  @Test
  void sourceIpCondition_usesTheConnectionsAddress() {
    KeyRecord key = newKey(ROOT, """
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
           "Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}""", false);
    byte[] blob = encrypt(ROOT, key, CONTEXT);
    decrypt(ROOT.in(new Caller.Scope("10.1.2.3", null, null)), blob, CONTEXT);
    refused(ErrorCode.ACCESS_DENIED, () -> decrypt(ROOT.in(new Caller.Scope("192.168.1.1", null, null)), blob,
        CONTEXT));
  }

  @Test
  void secureTransportAndAlgorithmConditions() {
    KeyRecord key = newKey(ROOT, """
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*",
           "Condition":{"Bool":{"aws:SecureTransport":"false"}}},
          {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
           "Condition":{"StringNotEquals":{"kms:EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}}},
          {"Effect":"Deny","Principal":"*","Action":"kms:GenerateDataKey","Resource":"*",
           "Condition":{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}},
          {"Effect":"Deny","Principal":"*","Action":"kms:GenerateDataKeyWithoutPlaintext","Resource":"*",
           "Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}""", false);
    refused(ErrorCode.ACCESS_DENIED, () -> encrypt(ROOT.in(new Caller.Scope(null, null, null, false)), key, CONTEXT));
    byte[] blob = encrypt(ROOT.in(new Caller.Scope(null, null, null, true)), key, CONTEXT);
    // the request names no algorithm: SYMMETRIC_DEFAULT is what policies see (a missing key would be denied)
    decrypt(ROOT, blob, CONTEXT);
    await(kms.crypto.generateDataKey(ROOT, key.keyId(), 32, CONTEXT, false));
    refused(ErrorCode.ACCESS_DENIED, () -> await(kms.crypto.generateDataKey(ROOT, "GenerateDataKeyWithoutPlaintext",
        key.keyId(), 32, CONTEXT, false)));
  }

  @Test
  void deletedKeys_takeTheirPolicyWithThem() {
    KeyRecord key = newKey(ROOT, separatedPolicy(), false);
    MetadataStore store = kms.store;
    assertTrue(store.keyPolicies().containsKey(key.keyId()));
    assertTrue(store.deleteKey(key.keyId()));
    assertTrue(!store.keyPolicies().containsKey(key.keyId()));
  }
}
