package io.kmsgw.policy;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;

/**
 * Which key states allow which operations, as AWS KMS documents them ("Key states of AWS KMS keys").
 * Pure decisions: no I/O.
 */
public final class KeyStateRules {
  private KeyStateRules() {}

  /**
   * The state clients see: a key whose key store is not connected is {@code Unavailable}, unless it is
   * pending deletion (AWS shows custom key store keys that way).
   */
  public static KeyState effectiveState(KeyRecord key, boolean keyStoreConnected) {
    if (!keyStoreConnected && key.state() != KeyState.PENDING_DELETION) {
      return KeyState.UNAVAILABLE;
    }
    return key.state();
  }

  /**
   * Checks that a key may encrypt, decrypt or generate data keys now.
   *
   * @throws KmsException DisabledException for a disabled key, KMSInvalidStateException for a key pending
   *     deletion, pending import, unavailable or still being created
   */
  public static void requireUsableForCrypto(KeyRecord key, boolean keyStoreConnected) {
    KeyState state = effectiveState(key, keyStoreConnected);
    switch (state) {
      case ENABLED -> {
        return;
      }
      case DISABLED -> throw new KmsException(ErrorCode.DISABLED, key.arn() + " is disabled.");
      case PENDING_DELETION -> throw new KmsException(ErrorCode.KMS_INVALID_STATE, key.arn() + " is pending deletion.");
      case UNAVAILABLE -> throw new KmsException(ErrorCode.KMS_INVALID_STATE,
          key.arn() + " is unavailable: its key store is not connected.");
      default -> throw new KmsException(ErrorCode.KMS_INVALID_STATE,
          key.arn() + " is not usable in state " + state.apiName() + ".");
    }
  }

  /** Checks that a key's usage and spec allow symmetric encryption and decryption. */
  public static void requireSymmetricEncryptDecrypt(KeyRecord key, String operation) {
    if (!"ENCRYPT_DECRYPT".equals(key.keyUsage()) || !"SYMMETRIC_DEFAULT".equals(key.keySpec())) {
      throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "You cannot use " + operation + " with " + key.arn()
          + ": its KeyUsage is " + key.keyUsage() + " and its KeySpec is " + key.keySpec() + ".");
    }
  }
}
