package io.kmsgw.keystore;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmException;

/**
 * Turns an HSM failure into the API error a client should see. The HSM's own message and return code stay
 * in the cause, for the log only.
 */
final class HsmErrors {
  private HsmErrors() {}

  /**
   * @param keyArn the key the operation used, or null for operations without a key (CreateKey, GenerateRandom)
   */
  static KmsException toKms(HsmException e, String keyArn) {
    return switch (e.kind()) {
      case BAD_CIPHERTEXT -> new KmsException(ErrorCode.INVALID_CIPHERTEXT,
          "The ciphertext is invalid, was altered, or the encryption context does not match.", e);
      case POOL_EXHAUSTED -> new KmsException(ErrorCode.THROTTLING,
          "Rate exceeded: every HSM session is busy. Retry with backoff.", e);
      case DEVICE_ERROR, NOT_LOGGED_IN, SESSION_INVALID, LIBRARY_REINITIALISED -> keyArn == null
          ? new KmsException(ErrorCode.DEPENDENCY_TIMEOUT, "The HSM could not be reached. You can retry the request.", e)
          : new KmsException(ErrorCode.KEY_UNAVAILABLE, keyArn + " is not available: the HSM could not be reached. "
              + "You can retry the request.", e);
      case KEY_NOT_FOUND -> KmsException.internal(
          (keyArn == null ? "A key" : keyArn) + ": its material is missing from the HSM.", e);
      // the message says what the operator must change (Thales Luna's HSM policy 12, say); it holds no secret
      case GCM_IV_MODE -> KmsException.internal("The HSM did not seal the way this key store is configured for: "
          + e.getMessage() + ".", e);
      default -> KmsException.internal("The HSM failed the request.", e);
    };
  }
}
