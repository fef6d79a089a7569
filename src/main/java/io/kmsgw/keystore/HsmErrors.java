package io.kmsgw.keystore;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmException;

/**
 * Turns an HSM failure into the API error a client should see. The HSM's own message and return code stay
 * in the cause, for the log only.
 */
final class HsmErrors {
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(HsmErrors.class.getName());

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
      case DEVICE_ERROR, NOT_LOGGED_IN, SESSION_INVALID, LIBRARY_REINITIALISED, TOKEN_REMOVED -> unavailable(e, keyArn,
          "the HSM could not be reached");
      case CALL_TIMED_OUT -> unavailable(e, keyArn, "the HSM did not answer in time");
      case KEY_NOT_FOUND -> KmsException.internal(
          (keyArn == null ? "A key" : keyArn) + ": its material is missing from the HSM.", e);
      // the message says what the operator must change (Thales Luna's HSM policy 12, say); it holds no secret
      case GCM_IV_MODE -> KmsException.internal("The HSM did not seal the way this key store is configured for: "
          + e.getMessage() + ".", e);
      case UNSUPPORTED -> unsupported(e);
      default -> KmsException.internal("The HSM failed the request.", e);
    };
  }

  /**
   * A mechanism, template or curve the token refuses. The client gets kmsgw's own words (what is missing, never a
   * secret); a token's return code and the wording around it (a call, an object label) are internal detail, which
   * goes to the log only (GUIDE §3, one error model).
   */
  private static KmsException unsupported(HsmException e) {
    if (e.ckrName() == null) {
      return new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "The HSM of this key store cannot do this: "
          + e.getMessage() + ".", e);
    }
    LOG.info(() -> "the HSM refused a call as unsupported: " + e.getMessage());
    return new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "The HSM of this key store cannot do this: it refused "
        + "the mechanism, key type or curve that the request needs.", e);
  }

  /** A retryable HSM failure: KeyUnavailableException for a key, DependencyTimeoutException without one. */
  private static KmsException unavailable(HsmException e, String keyArn, String what) {
    return keyArn == null
        ? new KmsException(ErrorCode.DEPENDENCY_TIMEOUT, capitalised(what) + ". You can retry the request.", e)
        : new KmsException(ErrorCode.KEY_UNAVAILABLE, keyArn + " is not available: " + what
            + ". You can retry the request.", e);
  }

  private static String capitalised(String s) {
    return Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }
}
