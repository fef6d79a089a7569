package io.kmsgw.kms;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.domain.Caller;
import io.kmsgw.domain.Grant;
import io.kmsgw.domain.Grant.Constraints;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyRotation;
import io.kmsgw.domain.KeyState;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.policy.IdentityPolicies;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The authorizer with grants, case by case: a grant allows what no policy does, within its operations, grantee and
 * constraints; an explicit Deny in the key policy beats any grant.
 */
class AuthorizerGrantTest {
  private static final String ACCOUNT = "111122223333";
  private static final KeyRecord KEY = key();
  private static final KeyRecord OTHER_KEY = key();
  private static final Caller APP_B = user("app-b");
  private static final Caller APP_C = user("app-c");
  private static final Caller READER_SESSION = new Caller("arn:aws:sts::" + ACCOUNT + ":assumed-role/reader/s1",
      ACCOUNT, "AROAREADER:s1", "ASIAREADER", "AssumedRole");
  private static final Caller WRITER_SESSION = new Caller("arn:aws:sts::" + ACCOUNT + ":assumed-role/writer/s1",
      ACCOUNT, "AROAWRITER:s1", "ASIAWRITER", "AssumedRole");
  private static final Map<String, String> BILLING = Map.of("app", "billing");

  private static final String ROOT_ONLY = KeyPolicies.defaultPolicy(ACCOUNT);
  private static final String DENY_APP_B_DECRYPT = """
      {"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
        {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/app-b"},"Action":"kms:Decrypt",
         "Resource":"*"}
      ]}""";

  private static final Grant EQUALS_BILLING = grant(KEY, "arn:aws:iam::111122223333:user/app-b",
      List.of("Decrypt", "DescribeKey", "CreateGrant"), new Constraints(BILLING, null));
  private static final Grant SUBSET_BILLING = grant(KEY, "arn:aws:iam::111122223333:user/app-b",
      List.of("Encrypt", "GenerateDataKey"), new Constraints(null, BILLING));
  private static final Grant ON_OTHER_KEY = grant(OTHER_KEY, "arn:aws:iam::111122223333:user/app-b",
      List.of("Decrypt"), Constraints.NONE);
  private static final Grant TO_ROLE = grant(KEY, "arn:aws:iam::111122223333:role/reader", List.of("Decrypt"),
      Constraints.NONE);

  private static KeyRecord key() {
    return new KeyRecord(UUID.randomUUID(), ACCOUNT, "us-east-1", Instant.EPOCH, "", KeyState.ENABLED,
        KeyUsage.ENCRYPT_DECRYPT, KeySpec.SYMMETRIC_DEFAULT, Origin.AWS_KMS, "default", 1, null, 0, KeyRotation.DISABLED, List.of(),
        List.of());
  }

  private static Caller user(String name) {
    return new Caller("arn:aws:iam::" + ACCOUNT + ":user/" + name, ACCOUNT, "AIDA" + name, "AKIA" + name, "IAMUser");
  }

  private static Grant grant(KeyRecord key, String grantee, List<String> ops, Constraints c) {
    return new Grant(key.keyId(), UUID.randomUUID().toString().replace("-", "").repeat(2), null, Instant.EPOCH,
        grantee, null, "arn:aws:iam::111122223333:root", ops, c);
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("no grant, no policy for app-b", ROOT_ONLY, List.of(), APP_B, "Decrypt", BILLING, false),
        Arguments.of("EncryptionContextEquals, that context", ROOT_ONLY, List.of(EQUALS_BILLING), APP_B, "Decrypt",
            BILLING, true),
        Arguments.of("EncryptionContextEquals, another context", ROOT_ONLY, List.of(EQUALS_BILLING), APP_B, "Decrypt",
            Map.of("app", "payroll"), false),
        Arguments.of("EncryptionContextEquals, a larger context", ROOT_ONLY, List.of(EQUALS_BILLING), APP_B,
            "Decrypt", Map.of("app", "billing", "x", "1"), false),
        Arguments.of("EncryptionContextEquals, no context", ROOT_ONLY, List.of(EQUALS_BILLING), APP_B, "Decrypt",
            Map.of(), false),
        Arguments.of("constraint key in another case", ROOT_ONLY, List.of(EQUALS_BILLING), APP_B, "Decrypt",
            Map.of("APP", "billing"), true),
        Arguments.of("constraint value in another case", ROOT_ONLY, List.of(EQUALS_BILLING), APP_B, "Decrypt",
            Map.of("app", "Billing"), false),
        Arguments.of("operation not in the grant", ROOT_ONLY, List.of(EQUALS_BILLING), APP_B, "Encrypt", BILLING,
            false),
        Arguments.of("constraint does not apply to DescribeKey", ROOT_ONLY, List.of(EQUALS_BILLING), APP_B,
            "DescribeKey", null, true),
        Arguments.of("CreateGrant is never answered for any grant", ROOT_ONLY, List.of(EQUALS_BILLING), APP_B,
            "CreateGrant", null, false),
        Arguments.of("another grantee", ROOT_ONLY, List.of(EQUALS_BILLING), APP_C, "Decrypt", BILLING, false),
        Arguments.of("EncryptionContextSubset, larger context", ROOT_ONLY, List.of(SUBSET_BILLING), APP_B, "Encrypt",
            Map.of("app", "billing", "x", "1"), true),
        Arguments.of("EncryptionContextSubset, pair missing", ROOT_ONLY, List.of(SUBSET_BILLING), APP_B,
            "GenerateDataKey", Map.of("x", "1"), false),
        Arguments.of("grant on another key", ROOT_ONLY, List.of(ON_OTHER_KEY), APP_B, "Decrypt", BILLING, false),
        Arguments.of("grant to a role, a session of it", ROOT_ONLY, List.of(TO_ROLE), READER_SESSION, "Decrypt",
            Map.of(), true),
        Arguments.of("grant to a role, a session of another role", ROOT_ONLY, List.of(TO_ROLE), WRITER_SESSION,
            "Decrypt", Map.of(), false),
        Arguments.of("revoked: the grant is gone", ROOT_ONLY, List.of(SUBSET_BILLING), APP_B, "Decrypt", BILLING,
            false),
        Arguments.of("explicit Deny in the key policy beats the grant", DENY_APP_B_DECRYPT, List.of(EQUALS_BILLING),
            APP_B, "Decrypt", BILLING, false),
        Arguments.of("a Deny of Decrypt leaves other granted operations", DENY_APP_B_DECRYPT,
            List.of(EQUALS_BILLING), APP_B, "DescribeKey", null, true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void grantsAndPolicies(String name, String keyPolicy, List<Grant> grants, Caller caller, String operation,
      Map<String, String> context, boolean allowed) {
    KeyPolicies policies = new KeyPolicies();
    policies.put(KEY.keyId(), KeyPolicies.parse(keyPolicy));
    policies.put(OTHER_KEY.keyId(), KeyPolicies.parse(ROOT_ONLY));
    Authorizer authz = new Authorizer("111122223333", policies, IdentityPolicies.NONE, Clock.fixed(Instant.EPOCH, ZoneOffset.UTC));
    authz.grants((key, c, op, ctx) -> GrantService.anyAllows(
        grants.stream().filter(g -> g.keyId().equals(key.keyId())).toList(), c, op, ctx));
    if (allowed) {
      authz.onKey(caller, operation, KEY, context);
    } else {
      KmsException e = assertThrows(KmsException.class, () -> authz.onKey(caller, operation, KEY, context));
      assertEquals(ErrorCode.ACCESS_DENIED, e.code());
    }
  }
}
