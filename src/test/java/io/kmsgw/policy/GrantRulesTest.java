package io.kmsgw.policy;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.Grant;
import io.kmsgw.domain.Grant.Constraints;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyRotation;
import io.kmsgw.domain.KeyState;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Grant operations per key type, constraint checks and matching, CreateGrant delegation, principal forms. */
class GrantRulesTest {
  private static final KeyRecord SYMMETRIC = key(KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT);
  private static final Constraints EQUALS_BILLING = new Constraints(Map.of("app", "billing"), null);
  private static final Constraints SUBSET_BILLING = new Constraints(null, Map.of("app", "billing"));

  private static KeyRecord key(KeySpec spec, KeyUsage usage) {
    return new KeyRecord(UUID.randomUUID(), "111122223333", "us-east-1", Instant.now(), "", KeyState.ENABLED, usage,
        spec, Origin.AWS_KMS, "default", 1, null, 0, KeyRotation.DISABLED, List.of(), List.of());
  }

  private static Grant grant(List<String> ops, Constraints c) {
    return new Grant(UUID.randomUUID(), "0".repeat(64), null, Instant.now(), "arn:aws:iam::111122223333:user/app-b",
        null, "arn:aws:iam::111122223333:root", ops, c);
  }

  private static void assertValidation(Runnable r) {
    KmsException e = assertThrows(KmsException.class, r::run);
    assertEquals(ErrorCode.VALIDATION, e.code(), e.getMessage());
  }

  @Test
  void symmetricKey_supportsSymmetricCryptoAndGrantManagement_notSigning() {
    assertEquals(List.of("Decrypt", "Encrypt"), GrantRules.check(SYMMETRIC, List.of("Decrypt", "Encrypt", "Decrypt"),
        Constraints.NONE), "duplicates are dropped, order kept");
    GrantRules.check(SYMMETRIC, List.of("GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "CreateGrant", "RetireGrant",
        "DescribeKey"), Constraints.NONE);
    for (String op : List.of("Sign", "Verify", "GetPublicKey", "GenerateMac", "VerifyMac", "DeriveSharedSecret")) {
      assertValidation(() -> GrantRules.check(SYMMETRIC, List.of("Decrypt", op), Constraints.NONE));
    }
  }

  @Test
  void emptyOperations_areRefused() {
    assertValidation(() -> GrantRules.check(SYMMETRIC, List.of(), Constraints.NONE));
  }

  @Test
  void signingKey_supportsSignVerify_notEncrypt() {
    KeyRecord signing = key(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY);
    GrantRules.check(signing, List.of("Sign", "Verify", "GetPublicKey", "DescribeKey"), Constraints.NONE);
    assertValidation(() -> GrantRules.check(signing, List.of("Encrypt"), Constraints.NONE));
  }

  @Test
  void constraint_isRefusedWithOperationsThatTakeNoEncryptionContext() {
    assertValidation(() -> GrantRules.check(key(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY), List.of("Sign"), EQUALS_BILLING));
    assertValidation(() -> GrantRules.check(key(KeySpec.RSA_2048, KeyUsage.ENCRYPT_DECRYPT), List.of("Decrypt"), EQUALS_BILLING));
  }

  @Test
  void constraint_mayGoWithDescribeKeyRetireGrantAndCreateGrant_asAwsAllows() {
    GrantRules.check(SYMMETRIC, List.of("Decrypt", "DescribeKey", "RetireGrant", "CreateGrant"), SUBSET_BILLING);
  }

  @Test
  void constraint_overEightPairsOr384Characters_isRefused() {
    Map<String, String> nine = new HashMap<>();
    for (int i = 0; i < 9; i++) {
      nine.put("k" + i, "v");
    }
    assertValidation(() -> GrantRules.check(SYMMETRIC, List.of("Decrypt"), new Constraints(nine, null)));
    Map<String, String> longValue = Map.of("k", "v".repeat(384));
    assertValidation(() -> GrantRules.check(SYMMETRIC, List.of("Decrypt"), new Constraints(null, longValue)));
    GrantRules.check(SYMMETRIC, List.of("Decrypt"), new Constraints(null, Map.of("k", "v".repeat(383))));
  }

  @Test
  void equals_matchesExactlyThatContext() {
    assertTrue(GrantRules.satisfied(EQUALS_BILLING, "Decrypt", Map.of("app", "billing")));
    assertFalse(GrantRules.satisfied(EQUALS_BILLING, "Decrypt", Map.of("app", "billing", "x", "1")));
    assertFalse(GrantRules.satisfied(EQUALS_BILLING, "Decrypt", Map.of("app", "payroll")));
    assertFalse(GrantRules.satisfied(EQUALS_BILLING, "Decrypt", Map.of()));
  }

  @Test
  void subset_matchesContextsThatIncludeItsPairs() {
    assertTrue(GrantRules.satisfied(SUBSET_BILLING, "Encrypt", Map.of("app", "billing")));
    assertTrue(GrantRules.satisfied(SUBSET_BILLING, "Encrypt", Map.of("app", "billing", "x", "1")));
    assertFalse(GrantRules.satisfied(SUBSET_BILLING, "Encrypt", Map.of("x", "1")));
  }

  @Test
  void constraintKeys_ignoreCase_valuesDoNot() {
    // GrantConstraints: "in a grant constraint, the key in each key-value pair is not case sensitive, but the value is"
    assertTrue(GrantRules.satisfied(EQUALS_BILLING, "Decrypt", Map.of("APP", "billing")));
    assertFalse(GrantRules.satisfied(EQUALS_BILLING, "Decrypt", Map.of("app", "Billing")));
    assertTrue(GrantRules.satisfied(SUBSET_BILLING, "Decrypt", Map.of("App", "billing", "y", "2")));
  }

  @Test
  void constraints_doNotApplyToOperationsWithoutEncryptionContext() {
    assertTrue(GrantRules.satisfied(EQUALS_BILLING, "DescribeKey", Map.of()));
  }

  @Test
  void emptyEquals_matchesOnlyAnEmptyContext() {
    Constraints empty = new Constraints(Map.of(), null);
    assertTrue(GrantRules.satisfied(empty, "Decrypt", Map.of()));
    assertFalse(GrantRules.satisfied(empty, "Decrypt", Map.of("a", "b")));
  }

  @Test
  void createGrantFromAGrant_onlyWithinItsOperations() {
    Grant parent = grant(List.of("Decrypt", "Encrypt", "CreateGrant"), Constraints.NONE);
    assertTrue(GrantRules.covers(parent, List.of("Decrypt"), Constraints.NONE));
    assertTrue(GrantRules.covers(parent, List.of("Decrypt", "CreateGrant"), EQUALS_BILLING));
    assertFalse(GrantRules.covers(parent, List.of("Decrypt", "ReEncryptFrom"), Constraints.NONE));
    assertFalse(GrantRules.covers(grant(List.of("Decrypt"), Constraints.NONE), List.of("Decrypt"), Constraints.NONE),
        "a grant without CreateGrant creates nothing");
  }

  @Test
  void createGrantFromAConstrainedGrant_needsAnEquallyStrictOrStricterConstraint() {
    Grant subset = grant(List.of("Decrypt", "CreateGrant"), SUBSET_BILLING);
    assertFalse(GrantRules.covers(subset, List.of("Decrypt"), Constraints.NONE));
    assertTrue(GrantRules.covers(subset, List.of("Decrypt"), SUBSET_BILLING));
    assertTrue(GrantRules.covers(subset, List.of("Decrypt"), new Constraints(null, Map.of("app", "billing", "x", "1"))));
    assertTrue(GrantRules.covers(subset, List.of("Decrypt"), new Constraints(Map.of("app", "billing", "x", "1"), null)));
    assertFalse(GrantRules.covers(subset, List.of("Decrypt"), new Constraints(null, Map.of("x", "1"))));

    Grant equals = grant(List.of("Decrypt", "CreateGrant"), EQUALS_BILLING);
    assertTrue(GrantRules.covers(equals, List.of("Decrypt"), EQUALS_BILLING));
    assertFalse(GrantRules.covers(equals, List.of("Decrypt"), SUBSET_BILLING), "a subset allows larger contexts");
    assertFalse(GrantRules.covers(equals, List.of("Decrypt"), new Constraints(Map.of("app", "billing", "x", "1"),
        null)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user/app-b",
      "arn:aws:iam::111122223333:user/division/app-b", "arn:aws:iam::111122223333:role/reader",
      "arn:aws:iam::444455556666:role/team/reader", "arn:aws:sts::111122223333:assumed-role/reader/session-1",
      "arn:aws:sts::111122223333:federated-user/bob"})
  void principalForms_accepted(String arn) {
    GrantRules.checkPrincipal("GranteePrincipal", arn);
  }

  @ParameterizedTest
  @ValueSource(strings = {"app-b", "111122223333", "arn:aws:iam::1111:user/app-b", "arn:aws:iam::111122223333:group/g",
      "arn:aws:iam::111122223333:user/", "arn:aws:s3:::bucket", "arn:aws:iam:us-east-1:111122223333:user/a",
      "arn:aws:sts::111122223333:assumed-role/reader", "arn:aws:kms:us-east-1:111122223333:key/x"})
  void principalForms_refusedWithInvalidArn(String arn) {
    KmsException e = assertThrows(KmsException.class, () -> GrantRules.checkPrincipal("GranteePrincipal", arn));
    assertEquals(ErrorCode.INVALID_ARN, e.code());
  }

  @Test
  void grantToARole_namesItsSessions_evenWithAPath() {
    Principal session = Principal.of("arn:aws:sts::111122223333:assumed-role/reader/s1");
    assertTrue(GrantRules.names("arn:aws:iam::111122223333:role/reader", session));
    assertTrue(GrantRules.names("arn:aws:iam::111122223333:role/team/reader", session));
    assertTrue(GrantRules.names("arn:aws:sts::111122223333:assumed-role/reader/s1", session));
    assertFalse(GrantRules.names("arn:aws:sts::111122223333:assumed-role/reader/s2", session));
    assertFalse(GrantRules.names("arn:aws:iam::111122223333:role/writer", session));
    assertFalse(GrantRules.names("arn:aws:iam::444455556666:role/reader", session));
    assertFalse(GrantRules.names("arn:aws:iam::111122223333:user/reader",
        Principal.of("arn:aws:iam::111122223333:user/app-b")));
  }
}
