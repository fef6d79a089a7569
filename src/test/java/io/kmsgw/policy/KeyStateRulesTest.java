package io.kmsgw.policy;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyRotation;
import io.kmsgw.domain.KeyState;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.policy.KeyStateRules.Op;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each cell of the key state table that matters, against AWS's table ("Key states of AWS KMS keys"). */
class KeyStateRulesTest {
  private static final ErrorCode OK = null;

  static Stream<Arguments> cells() {
    return Stream.of(
        // crypto: Encrypt, Decrypt, GenerateDataKey(WithoutPlaintext), ReEncrypt
        Arguments.of(Op.CRYPTO, KeyState.ENABLED, OK),
        Arguments.of(Op.CRYPTO, KeyState.DISABLED, ErrorCode.DISABLED),
        Arguments.of(Op.CRYPTO, KeyState.PENDING_DELETION, ErrorCode.KMS_INVALID_STATE),
        Arguments.of(Op.CRYPTO, KeyState.PENDING_IMPORT, ErrorCode.KMS_INVALID_STATE),
        Arguments.of(Op.CRYPTO, KeyState.UNAVAILABLE, ErrorCode.KMS_INVALID_STATE),
        // CreateAlias, TagResource, UntagResource, UpdateKeyDescription, ScheduleKeyDeletion
        Arguments.of(Op.MANAGE, KeyState.ENABLED, OK),
        Arguments.of(Op.MANAGE, KeyState.DISABLED, OK),
        Arguments.of(Op.MANAGE, KeyState.PENDING_DELETION, ErrorCode.KMS_INVALID_STATE),
        Arguments.of(Op.MANAGE, KeyState.UNAVAILABLE, OK),
        // DescribeKey, DeleteAlias, ListAliases, ListResourceTags, GetKeyRotationStatus, ListKeyRotations
        Arguments.of(Op.READ, KeyState.PENDING_DELETION, OK),
        Arguments.of(Op.READ, KeyState.DISABLED, OK),
        Arguments.of(Op.READ, KeyState.UNAVAILABLE, OK),
        // EnableKey, DisableKey
        Arguments.of(Op.ENABLE_DISABLE, KeyState.ENABLED, OK),
        Arguments.of(Op.ENABLE_DISABLE, KeyState.DISABLED, OK),
        Arguments.of(Op.ENABLE_DISABLE, KeyState.PENDING_DELETION, ErrorCode.KMS_INVALID_STATE),
        Arguments.of(Op.ENABLE_DISABLE, KeyState.PENDING_IMPORT, ErrorCode.KMS_INVALID_STATE),
        Arguments.of(Op.ENABLE_DISABLE, KeyState.UNAVAILABLE, OK),
        // CancelKeyDeletion
        Arguments.of(Op.CANCEL_DELETION, KeyState.PENDING_DELETION, OK),
        Arguments.of(Op.CANCEL_DELETION, KeyState.ENABLED, ErrorCode.KMS_INVALID_STATE),
        Arguments.of(Op.CANCEL_DELETION, KeyState.DISABLED, ErrorCode.KMS_INVALID_STATE),
        // EnableKeyRotation, DisableKeyRotation
        Arguments.of(Op.ROTATION_SETTINGS, KeyState.ENABLED, OK),
        Arguments.of(Op.ROTATION_SETTINGS, KeyState.DISABLED, ErrorCode.DISABLED),
        Arguments.of(Op.ROTATION_SETTINGS, KeyState.PENDING_DELETION, ErrorCode.KMS_INVALID_STATE),
        // RotateKeyOnDemand
        Arguments.of(Op.ROTATE_NOW, KeyState.ENABLED, OK),
        Arguments.of(Op.ROTATE_NOW, KeyState.DISABLED, ErrorCode.DISABLED),
        Arguments.of(Op.ROTATE_NOW, KeyState.PENDING_DELETION, ErrorCode.KMS_INVALID_STATE),
        Arguments.of(Op.ROTATE_NOW, KeyState.UNAVAILABLE, ErrorCode.KMS_INVALID_STATE),
        // UpdateAlias: the new target
        Arguments.of(Op.ALIAS_TARGET, KeyState.DISABLED, OK),
        Arguments.of(Op.ALIAS_TARGET, KeyState.PENDING_DELETION, ErrorCode.KMS_INVALID_STATE),
        // CreateGrant
        Arguments.of(Op.CREATE_GRANT, KeyState.ENABLED, OK),
        Arguments.of(Op.CREATE_GRANT, KeyState.DISABLED, ErrorCode.DISABLED),
        Arguments.of(Op.CREATE_GRANT, KeyState.PENDING_DELETION, ErrorCode.KMS_INVALID_STATE),
        Arguments.of(Op.CREATE_GRANT, KeyState.PENDING_IMPORT, ErrorCode.KMS_INVALID_STATE),
        Arguments.of(Op.CREATE_GRANT, KeyState.UNAVAILABLE, OK),
        // ListGrants, RetireGrant, RevokeGrant
        Arguments.of(Op.GRANTS, KeyState.ENABLED, OK),
        Arguments.of(Op.GRANTS, KeyState.DISABLED, OK),
        Arguments.of(Op.GRANTS, KeyState.PENDING_DELETION, OK),
        Arguments.of(Op.GRANTS, KeyState.PENDING_IMPORT, OK),
        Arguments.of(Op.GRANTS, KeyState.UNAVAILABLE, OK));
  }

  private static KeyRecord key(KeyState state) {
    return new KeyRecord(UUID.randomUUID(), "111122223333", "us-east-1", Instant.now(), "", state, KeyUsage.ENCRYPT_DECRYPT,
        KeySpec.SYMMETRIC_DEFAULT, Origin.AWS_KMS, "default", 1, null, 0, KeyRotation.DISABLED, List.of(), List.of());
  }

  @ParameterizedTest(name = "{0} in {1} -> {2}")
  @MethodSource("cells")
  void table_matchesAwsKeyStateTable(Op op, KeyState state, ErrorCode expected) {
    assertEquals(expected, KeyStateRules.outcome(op, state));
    if (state == KeyState.UNAVAILABLE) {
      // Unavailable is what an Enabled or Disabled key shows while its key store is not connected
      check(op, key(KeyState.ENABLED), false, expected);
    } else {
      check(op, key(state), true, expected);
    }
  }

  private static void check(Op op, KeyRecord key, boolean connected, ErrorCode expected) {
    if (expected == null) {
      assertDoesNotThrow(() -> KeyStateRules.require(op, key, connected));
    } else {
      KmsException e = assertThrows(KmsException.class, () -> KeyStateRules.require(op, key, connected));
      assertEquals(expected, e.code());
      assertTrue(e.getMessage().startsWith(key.arn()), "AWS names the key first: " + e.getMessage());
    }
  }

  @org.junit.jupiter.api.Test
  void keyPendingDeletion_staysPendingDeletionWhenItsStoreIsDown() {
    assertEquals(KeyState.PENDING_DELETION, KeyStateRules.effectiveState(key(KeyState.PENDING_DELETION), false));
    assertEquals(KeyState.UNAVAILABLE, KeyStateRules.effectiveState(key(KeyState.DISABLED), false));
  }
}
