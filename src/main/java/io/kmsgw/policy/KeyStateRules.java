package io.kmsgw.policy;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.KeyState;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.util.EnumMap;
import java.util.Map;

/**
 * Which operations a key's state allows: the one table every operation consults, following AWS KMS's key state
 * table ("Key states of AWS KMS keys", developer guide). Pure decisions: no I/O.
 *
 * <p>Where AWS allows either DisabledException or KMSInvalidStateException for a key pending deletion, kmsgw answers
 * KMSInvalidStateException. A key whose key store is not connected is {@code Unavailable} (unless it is pending
 * deletion, which it stays, so the deletion can still be cancelled); management calls work on it, calls that need
 * the HSM do not.
 */
public final class KeyStateRules {
  /** Groups of operations that the key state table treats alike. */
  public enum Op {
    /** Encrypt, Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncrypt. */
    CRYPTO,
    /** CreateAlias, TagResource, UntagResource, UpdateKeyDescription, ScheduleKeyDeletion. */
    MANAGE,
    /** DescribeKey, DeleteAlias, ListAliases, ListResourceTags, GetKeyRotationStatus, ListKeyRotations. */
    READ,
    /** EnableKey, DisableKey. */
    ENABLE_DISABLE,
    /** CancelKeyDeletion. */
    CANCEL_DELETION,
    /** EnableKeyRotation, DisableKeyRotation. */
    ROTATION_SETTINGS,
    /** RotateKeyOnDemand: needs the HSM. */
    ROTATE_NOW,
    /** The key an alias is being pointed at by UpdateAlias. */
    ALIAS_TARGET,
    /** CreateGrant: like crypto, except that a key whose key store is not connected (Unavailable) takes grants. */
    CREATE_GRANT,
    /** ListGrants, RetireGrant, RevokeGrant: every state. */
    GRANTS
  }

  /** What a state does to an operation: allowed (null), or the error. */
  private static final Map<Op, Map<KeyState, ErrorCode>> TABLE = new EnumMap<>(Op.class);

  private static void row(Op op, ErrorCode enabled, ErrorCode disabled, ErrorCode pendingDeletion,
      ErrorCode pendingImport, ErrorCode unavailable) {
    Map<KeyState, ErrorCode> r = new EnumMap<>(KeyState.class);
    r.put(KeyState.ENABLED, enabled);
    r.put(KeyState.DISABLED, disabled);
    r.put(KeyState.PENDING_DELETION, pendingDeletion);
    r.put(KeyState.PENDING_IMPORT, pendingImport);
    r.put(KeyState.UNAVAILABLE, unavailable);
    r.put(KeyState.CREATING, ErrorCode.KMS_INVALID_STATE);
    TABLE.put(op, r);
  }

  private static final ErrorCode OK = null;
  private static final ErrorCode DISABLED = ErrorCode.DISABLED;
  private static final ErrorCode INVALID = ErrorCode.KMS_INVALID_STATE;

  static {
    //                            Enabled  Disabled  PendingDeletion  PendingImport  Unavailable
    row(Op.CRYPTO,                OK,      DISABLED, INVALID,         INVALID,       INVALID);
    row(Op.MANAGE,                OK,      OK,       INVALID,         OK,            OK);
    row(Op.READ,                  OK,      OK,       OK,              OK,            OK);
    row(Op.ENABLE_DISABLE,        OK,      OK,       INVALID,         INVALID,       OK);
    row(Op.CANCEL_DELETION,       INVALID, INVALID,  OK,              INVALID,       INVALID);
    row(Op.ROTATION_SETTINGS,     OK,      DISABLED, INVALID,         INVALID,       OK);
    row(Op.ROTATE_NOW,            OK,      DISABLED, INVALID,         INVALID,       INVALID);
    row(Op.ALIAS_TARGET,          OK,      OK,       INVALID,         OK,            OK);
    row(Op.CREATE_GRANT,          OK,      DISABLED, INVALID,         INVALID,       OK);
    row(Op.GRANTS,                OK,      OK,       OK,              OK,            OK);
  }

  private KeyStateRules() {}

  /**
   * The state clients see: a key whose key store is not connected is {@code Unavailable}, unless it is pending
   * deletion (AWS shows custom key store keys that way).
   */
  public static KeyState effectiveState(KeyRecord key, boolean keyStoreConnected) {
    if (!keyStoreConnected && key.state() != KeyState.PENDING_DELETION) {
      return KeyState.UNAVAILABLE;
    }
    return key.state();
  }

  /** The error this operation gets in this state, or null if it is allowed. */
  public static ErrorCode outcome(Op op, KeyState state) {
    return TABLE.get(op).get(state);
  }

  /**
   * Checks the table for a key.
   *
   * @throws KmsException DisabledException or KMSInvalidStateException, with AWS's wording
   */
  public static void require(Op op, KeyRecord key, boolean keyStoreConnected) {
    KeyState state = effectiveState(key, keyStoreConnected);
    ErrorCode error = outcome(op, state);
    if (error == null) {
      return;
    }
    if (error == ErrorCode.DISABLED) {
      throw new KmsException(error, key.arn() + " is disabled.");
    }
    String why = switch (state) {
      case PENDING_DELETION -> " is pending deletion.";
      case UNAVAILABLE -> " is unavailable: its key store is not connected.";
      case PENDING_IMPORT -> " is pending import.";
      case ENABLED, DISABLED -> op == Op.CANCEL_DELETION ? " is not pending deletion." : " is " + state.apiName() + ".";
      default -> " is not usable in state " + state.apiName() + ".";
    };
    throw new KmsException(error, key.arn() + why);
  }

  /** Checks that a key may encrypt, decrypt or generate data keys now. */
  public static void requireUsableForCrypto(KeyRecord key, boolean keyStoreConnected) {
    require(Op.CRYPTO, key, keyStoreConnected);
  }

  /** Checks that a key's usage and spec allow symmetric encryption and decryption. */
  public static void requireSymmetricEncryptDecrypt(KeyRecord key, String operation) {
    if (key.keyUsage() != KeyUsage.ENCRYPT_DECRYPT || key.keySpec() != KeySpec.SYMMETRIC_DEFAULT) {
      throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "You cannot use " + operation + " with " + key.arn()
          + ": its KeyUsage is " + key.keyUsage() + " and its KeySpec is " + key.keySpec() + ".");
    }
  }

  /**
   * Checks that a key's usage is the one an operation needs (GenerateMac and VerifyMac need GENERATE_VERIFY_MAC,
   * DeriveSharedSecret KEY_AGREEMENT): InvalidKeyUsageException otherwise, as AWS answers.
   */
  public static void requireUsage(KeyRecord key, KeyUsage usage, String operation) {
    if (key.keyUsage() != usage) {
      throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "You cannot use " + operation + " with " + key.arn()
          + ": its KeyUsage is " + key.keyUsage() + "; " + operation + " needs a key with KeyUsage " + usage + ".");
    }
  }
}
