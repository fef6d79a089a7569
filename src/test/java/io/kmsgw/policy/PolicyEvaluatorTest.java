package io.kmsgw.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kmsgw.policy.PolicyEvaluator.Outcome;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The evaluation logic, table-driven, with the policies of AWS's documentation: the default key policy, key users
 * and key administrators, explicit denies, cross-account access, role sessions, grants and conditions.
 */
class PolicyEvaluatorTest {
  static final String A = "111122223333";
  static final String B = "444455556666";
  static final String C = "777788889999";
  static final String KEY = "arn:aws:kms:us-east-1:" + A + ":key/1234abcd-12ab-34cd-56ef-1234567890ab";
  static final String ROOT_A = "arn:aws:iam::" + A + ":root";
  static final String ALICE = "arn:aws:iam::" + A + ":user/alice";
  static final String ADMIN = "arn:aws:iam::" + A + ":user/key-admin";
  static final String BOB_B = "arn:aws:iam::" + B + ":user/bob";

  /** AWS's default key policy: the account root, which lets IAM policies decide. */
  static final String DEFAULT = """
      {"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"EnableIAMUserPermissions","Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}""";

  /** The console's policy: IAM enabled, administrators who cannot use the key, users who cannot manage it. */
  static final String CONSOLE = """
      {"Version":"2012-10-17","Statement":[
       {"Sid":"EnableIAM","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
       {"Sid":"Admins","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/key-admin"},
        "Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*","kms:Revoke*",
        "kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource","kms:UntagResource","kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion"],"Resource":"*"},
       {"Sid":"Users","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::111122223333:role/app"]},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*",
        "kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"}]}""";

  /** Decrypt only with the billing encryption context, whatever else allows it. */
  static final String DENY_OTHER_CONTEXT = """
      {"Version":"2012-10-17","Statement":[
       {"Sid":"EnableIAM","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*",
        "Resource":"*"},
       {"Sid":"OnlyBilling","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
        "Condition":{"StringNotEquals":{"kms:EncryptionContext:purpose":"billing"}}}]}""";

  /** AWS's cross-account example: account B may use the key; B's IAM policies decide which of its principals. */
  static final String CROSS_ACCOUNT = """
      {"Version":"2012-10-17","Statement":[
       {"Sid":"EnableIAM","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*",
        "Resource":"*"},
       {"Sid":"ExternalAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},
        "Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"},
       {"Sid":"BobDirectly","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777788889999:user/carol"},
        "Action":"kms:Encrypt","Resource":"*"}]}""";

  /** An AWS managed key's policy: anyone in the account, through one service only. */
  static final String VIA_SERVICE = """
      {"Version":"2012-10-17","Statement":[{"Sid":"ViaEbs","Effect":"Allow","Principal":{"AWS":"*"},
       "Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{
       "StringEquals":{"kms:CallerAccount":"111122223333","kms:ViaService":"ec2.us-east-1.amazonaws.com"}}}]}""";

  static final String IAM_ENCRYPT_ONLY = """
      {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:GenerateDataKey"],
       "Resource":"arn:aws:kms:us-east-1:111122223333:key/*"}]}""";
  static final String IAM_ALL_KMS = """
      {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}""";
  static final String IAM_DENY_DELETION = """
      {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},
       {"Effect":"Deny","Action":["kms:ScheduleKeyDeletion","kms:Delete*"],"Resource":"*"}]}""";
  static final String IAM_OTHER_KEY = """
      {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*",
       "Resource":"arn:aws:kms:us-east-1:111122223333:key/other"}]}""";
  static final String IAM_B_USES_A_KEY = """
      {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],
       "Resource":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}""";

  record Case(String name, String principal, String action, String keyPolicy, List<String> iam, boolean grant,
      Consumer<RequestContext.Builder> keys, Outcome expected) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Case c(String name, String principal, String action, String keyPolicy, List<String> iam, Outcome expected) {
    return new Case(name, principal, action, keyPolicy, iam, false, b -> {}, expected);
  }

  static Case c(String name, String principal, String action, String keyPolicy, List<String> iam,
      Consumer<RequestContext.Builder> keys, Outcome expected) {
    return new Case(name, principal, action, keyPolicy, iam, false, keys, expected);
  }

  static Stream<Case> cases() {
    Map<String, String> billing = Map.of("purpose", "billing");
    return Stream.of(
        // the default key policy
        c("root of the key's account may do anything", ROOT_A, "kms:ScheduleKeyDeletion", DEFAULT, List.of(),
            Outcome.ALLOW),
        c("a user without IAM policy may not", ALICE, "kms:Encrypt", DEFAULT, List.of(), Outcome.NO_IDENTITY_ALLOW),
        c("a user whose IAM policy allows Encrypt may Encrypt", ALICE, "kms:Encrypt", DEFAULT,
            List.of(IAM_ENCRYPT_ONLY), Outcome.ALLOW),
        c("... but not Decrypt", ALICE, "kms:Decrypt", DEFAULT, List.of(IAM_ENCRYPT_ONLY), Outcome.NO_IDENTITY_ALLOW),
        c("an IAM policy for another key does not reach this one", ALICE, "kms:Encrypt", DEFAULT,
            List.of(IAM_OTHER_KEY), Outcome.NO_IDENTITY_ALLOW),
        c("another account is not in the default key policy", BOB_B, "kms:Encrypt", DEFAULT,
            List.of(IAM_ALL_KMS), Outcome.NO_RESOURCE_ALLOW),
        c("not even its root", "arn:aws:iam::" + B + ":root", "kms:Encrypt", DEFAULT, List.of(),
            Outcome.NO_RESOURCE_ALLOW),
        // key users and key administrators
        c("a key user named in the key policy needs no IAM policy", ALICE, "kms:Decrypt", CONSOLE, List.of(),
            Outcome.ALLOW),
        c("a key user may not manage the key", ALICE, "kms:ScheduleKeyDeletion", CONSOLE, List.of(),
            Outcome.NO_IDENTITY_ALLOW),
        c("a key administrator may manage it", ADMIN, "kms:ScheduleKeyDeletion", CONSOLE, List.of(), Outcome.ALLOW),
        c("a key administrator may not use it", ADMIN, "kms:Encrypt", CONSOLE, List.of(), Outcome.NO_IDENTITY_ALLOW),
        c("wildcard actions match without regard to case", ADMIN, "kms:getkeypolicy", CONSOLE, List.of(),
            Outcome.ALLOW),
        c("a session of a role named in the key policy", "arn:aws:sts::" + A + ":assumed-role/app/s-1",
            "kms:GenerateDataKey", CONSOLE, List.of(), Outcome.ALLOW),
        c("a session of another role", "arn:aws:sts::" + A + ":assumed-role/other/s-1", "kms:GenerateDataKey",
            CONSOLE, List.of(), Outcome.NO_IDENTITY_ALLOW),
        // explicit denies
        c("an explicit deny in the key policy beats an IAM allow", ALICE, "kms:Decrypt", DENY_OTHER_CONTEXT,
            List.of(IAM_ALL_KMS), b -> b.encryptionContext(Map.of("purpose", "payroll")),
            Outcome.EXPLICIT_DENY_RESOURCE),
        c("the denied context's absence is denied too (negated operator, key absent)", ALICE, "kms:Decrypt",
            DENY_OTHER_CONTEXT, List.of(IAM_ALL_KMS), Outcome.EXPLICIT_DENY_RESOURCE),
        c("the allowed context passes", ALICE, "kms:Decrypt", DENY_OTHER_CONTEXT, List.of(IAM_ALL_KMS),
            b -> b.encryptionContext(billing), Outcome.ALLOW),
        c("the deny applies to the root too", ROOT_A, "kms:Decrypt", DENY_OTHER_CONTEXT, List.of(),
            Outcome.EXPLICIT_DENY_RESOURCE),
        c("an explicit deny in an IAM policy beats the key policy", ADMIN, "kms:ScheduleKeyDeletion", CONSOLE,
            List.of(IAM_DENY_DELETION), Outcome.EXPLICIT_DENY_IDENTITY),
        // cross-account
        c("a user of the external account whose IAM policy allows", BOB_B, "kms:Decrypt", CROSS_ACCOUNT,
            List.of(IAM_B_USES_A_KEY), Outcome.ALLOW),
        c("without that IAM policy", BOB_B, "kms:Decrypt", CROSS_ACCOUNT, List.of(), Outcome.NO_IDENTITY_ALLOW),
        c("beyond what the key policy gives the account", BOB_B, "kms:ScheduleKeyDeletion", CROSS_ACCOUNT,
            List.of(IAM_ALL_KMS), Outcome.NO_RESOURCE_ALLOW),
        c("the external account's root", "arn:aws:iam::" + B + ":root", "kms:Encrypt", CROSS_ACCOUNT, List.of(),
            Outcome.ALLOW),
        c("a user named directly from another account still needs its IAM policy",
            "arn:aws:iam::" + C + ":user/carol", "kms:Encrypt", CROSS_ACCOUNT, List.of(), Outcome.NO_IDENTITY_ALLOW),
        c("... and with it", "arn:aws:iam::" + C + ":user/carol", "kms:Encrypt", CROSS_ACCOUNT,
            List.of(IAM_B_USES_A_KEY), Outcome.ALLOW),
        c("an account the key policy does not name", "arn:aws:iam::" + C + ":user/dave", "kms:Encrypt",
            CROSS_ACCOUNT, List.of(IAM_B_USES_A_KEY), Outcome.NO_RESOURCE_ALLOW),
        // conditions
        c("through the named service", ALICE, "kms:Encrypt", VIA_SERVICE, List.of(),
            b -> b.put("kms:ViaService", "ec2.us-east-1.amazonaws.com"), Outcome.ALLOW),
        c("not directly", ALICE, "kms:Encrypt", VIA_SERVICE, List.of(), Outcome.NO_RESOURCE_ALLOW),
        c("not from another account, even through the service", BOB_B, "kms:Encrypt", VIA_SERVICE,
            List.of(IAM_ALL_KMS), b -> b.put("kms:ViaService", "ec2.us-east-1.amazonaws.com"),
            Outcome.NO_RESOURCE_ALLOW));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void evaluate(Case k) {
    RequestContext.Builder b = RequestContext.builder(Principal.of(k.principal()), k.action(), KEY);
    k.keys().accept(b);
    RequestContext r = b.build();
    List<PolicyDocument> iam = k.iam().stream().map(p -> PolicyParser.parse(p, PolicyParser.Kind.IDENTITY)).toList();
    Outcome o = PolicyEvaluator.evaluate(r, A, PolicyParser.parse(k.keyPolicy(), PolicyParser.Kind.KEY), iam,
        k.grant());
    assertEquals(k.expected(), o, k.name());
  }

  @Test
  void aGrantAllowsWhatTheKeyPolicyDoesNot_butNotAgainstAnExplicitDeny() {
    RequestContext r = RequestContext.builder(Principal.of(ALICE), "kms:Decrypt", KEY)
        .encryptionContext(Map.of("purpose", "payroll")).build();
    PolicyDocument defaultPolicy = PolicyParser.parse(DEFAULT, PolicyParser.Kind.KEY);
    assertEquals(Outcome.ALLOW_BY_GRANT, PolicyEvaluator.evaluate(r, A, defaultPolicy, List.of(), true));
    assertEquals(Outcome.NO_IDENTITY_ALLOW, PolicyEvaluator.evaluate(r, A, defaultPolicy, List.of(), false));
    assertEquals(Outcome.EXPLICIT_DENY_RESOURCE, PolicyEvaluator.evaluate(r, A,
        PolicyParser.parse(DENY_OTHER_CONTEXT, PolicyParser.Kind.KEY), List.of(), true));
  }

  @Test
  void deniedMessages_followAwsForm() {
    RequestContext r = RequestContext.builder(Principal.of(ALICE), "kms:Decrypt", KEY).build();
    assertEquals("User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Decrypt on resource: "
        + KEY + " because no identity-based policy allows the kms:Decrypt action",
        Outcome.NO_IDENTITY_ALLOW.message(r));
    assertEquals("User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Decrypt on resource: "
        + KEY + " with an explicit deny in a resource-based policy", Outcome.EXPLICIT_DENY_RESOURCE.message(r));
  }

  @Test
  void notPrincipal_notAction_notResource() {
    String policy = """
        {"Version":"2012-10-17","Statement":[
         {"Effect":"Allow","Principal":{"AWS":"111122223333"},"NotAction":"kms:ScheduleKeyDeletion","Resource":"*"},
         {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/key-admin"},"Action":"kms:Disable*",
          "Resource":"*"}]}""";
    PolicyDocument d = PolicyParser.parse(policy, PolicyParser.Kind.KEY);
    List<PolicyDocument> iam = List.of(PolicyParser.parse(IAM_ALL_KMS, PolicyParser.Kind.IDENTITY));
    assertEquals(Outcome.ALLOW, eval(ALICE, "kms:Encrypt", d, iam));
    assertEquals(Outcome.NO_RESOURCE_ALLOW, eval(ALICE, "kms:ScheduleKeyDeletion", d, iam));
    assertEquals(Outcome.EXPLICIT_DENY_RESOURCE, eval(ALICE, "kms:DisableKey", d, iam));
    // AWS: a NotPrincipal that names a user without its account does not exempt the user (every level is checked)
    assertEquals(Outcome.EXPLICIT_DENY_RESOURCE, eval(ADMIN, "kms:DisableKey", d, iam));
    PolicyDocument withAccount = PolicyParser.parse(policy.replace(
        "\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::111122223333:user/key-admin\"}",
        "\"NotPrincipal\":{\"AWS\":[\"arn:aws:iam::111122223333:user/key-admin\",\"111122223333\"]}"),
        PolicyParser.Kind.KEY);
    assertEquals(Outcome.ALLOW, eval(ADMIN, "kms:DisableKey", withAccount, iam));
    assertEquals(Outcome.EXPLICIT_DENY_RESOURCE, eval(ALICE, "kms:DisableKey", withAccount, iam));
    assertEquals(Outcome.ALLOW, eval(ROOT_A, "kms:DisableKey", withAccount, List.of()));
    // naming the account alone exempts its root only, not its users
    PolicyDocument accountOnly = PolicyParser.parse(policy.replace("arn:aws:iam::111122223333:user/key-admin",
        "arn:aws:iam::111122223333:root"), PolicyParser.Kind.KEY);
    assertEquals(Outcome.ALLOW, eval(ROOT_A, "kms:DisableKey", accountOnly, List.of()));
    assertEquals(Outcome.EXPLICIT_DENY_RESOURCE, eval(ADMIN, "kms:DisableKey", accountOnly, iam));
    // a role session is exempt only when the account, the role and the session are all named
    String session = "arn:aws:sts::111122223333:assumed-role/app/nightly";
    PolicyDocument roleOnly = PolicyParser.parse(policy.replace(
        "\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::111122223333:user/key-admin\"}",
        "\"NotPrincipal\":{\"AWS\":[\"111122223333\",\"arn:aws:iam::111122223333:role/app\"]}"),
        PolicyParser.Kind.KEY);
    assertEquals(Outcome.EXPLICIT_DENY_RESOURCE, eval(session, "kms:DisableKey", roleOnly, iam));
    PolicyDocument roleAndSession = PolicyParser.parse(policy.replace(
        "\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::111122223333:user/key-admin\"}",
        "\"NotPrincipal\":{\"AWS\":[\"111122223333\",\"arn:aws:iam::111122223333:role/app\",\"" + session
            + "\"]}"), PolicyParser.Kind.KEY);
    assertEquals(Outcome.ALLOW, eval(session, "kms:DisableKey", roleAndSession, iam));
    String notResource = """
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*",
         "NotResource":"arn:aws:kms:*:111122223333:key/1234abcd-*"}]}""";
    List<PolicyDocument> nr = List.of(PolicyParser.parse(notResource, PolicyParser.Kind.IDENTITY));
    assertEquals(Outcome.NO_IDENTITY_ALLOW, eval(ALICE, "kms:Encrypt", PolicyParser.parse(DEFAULT,
        PolicyParser.Kind.KEY), nr));
  }

  private static Outcome eval(String principal, String action, PolicyDocument keyPolicy, List<PolicyDocument> iam) {
    return PolicyEvaluator.evaluate(RequestContext.builder(Principal.of(principal), action, KEY).build(), A,
        keyPolicy, iam, false);
  }

  @Test
  void identityOnly_forTheIamApi() {
    RequestContext r = RequestContext.builder(Principal.of(ALICE), "iam:CreateUser",
        "arn:aws:iam::111122223333:user/new").build();
    assertEquals(Outcome.NO_IDENTITY_ALLOW, PolicyEvaluator.evaluateIdentity(r, List.of()));
    assertEquals(Outcome.ALLOW, PolicyEvaluator.evaluateIdentity(r, List.of(PolicyParser.parse(
        "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:*\",\"Resource\":\"*\"}}", PolicyParser.Kind.IDENTITY))));
    assertEquals(Outcome.ALLOW, PolicyEvaluator.evaluateIdentity(RequestContext.builder(Principal.of(ROOT_A),
        "iam:CreateUser", "arn:aws:iam::111122223333:user/new").build(), List.of()));
  }
}
