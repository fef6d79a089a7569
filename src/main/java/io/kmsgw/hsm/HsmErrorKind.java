package io.kmsgw.hsm;

/**
 * What went wrong in the HSM, as the layers above need to know it. The PKCS#11 adapter maps return codes to
 * these kinds in exactly one place ({@code CkrMapping}).
 */
public enum HsmErrorKind {
  /** The ciphertext or its authentication tag did not verify. Not a fault of the HSM. */
  BAD_CIPHERTEXT(false, false),
  /** The key object is not in the token. */
  KEY_NOT_FOUND(false, false),
  /** A cached object handle no longer names an object; look it up again. */
  STALE_HANDLE(false, false),
  /** The session is closed or broken; evict it and use another. */
  SESSION_INVALID(true, false),
  /** The device, the token or the library failed; the module must be re-initialised. */
  DEVICE_ERROR(true, true),
  /**
   * The token is gone from its slot (CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_REMOVED): every session on it is dead, but the
   * library and the other tokens it serves are not known to be hurt, so it is not re-initialised. Connect again
   * until the token is back.
   */
  TOKEN_REMOVED(true, true),
  /**
   * A call ran longer than the call timeout ({@code hsm.pool.call_timeout_ms}): its request was answered without
   * waiting for it, and its session, in an unknown state, is closed when the call ends instead of going back to
   * the pool.
   */
  CALL_TIMED_OUT(true, false),
  /**
   * The shared PKCS#11 library was re-initialised (another key store on it recovered from a device error): this
   * connection's sessions are gone, but nothing is known to be wrong with its own token. Connect again at once.
   */
  LIBRARY_REINITIALISED(true, false),
  /** The application is no longer logged in; reconnect and log in again. */
  NOT_LOGGED_IN(true, true),
  /** The crypto user's PIN is wrong. */
  PIN_INCORRECT(false, false),
  /** The crypto user is locked out. */
  PIN_LOCKED(false, false),
  /** Another user (for example the security officer) is logged in to the token. */
  ANOTHER_USER_LOGGED_IN(false, false),
  /** No token with the configured label. */
  TOKEN_NOT_FOUND(false, false),
  /** Fewer tokens with the label than the definition's minimum number of HSMs. */
  INSUFFICIENT_HSMS(false, false),
  /** The PKCS#11 library could not be loaded or initialised. */
  LIBRARY_ERROR(false, false),
  /** No session became free within the borrow timeout. */
  POOL_EXHAUSTED(false, false),
  /** The HSM is out of memory, sessions or another resource. */
  RESOURCE_EXHAUSTED(false, false),
  /** The mechanism, a parameter or an attribute is not supported by this HSM. */
  UNSUPPORTED(false, false),
  /**
   * The HSM handles AES-GCM IVs other than the store's profile ({@code gcm_iv_from_hsm}) says, or in a way kmsgw cannot
   * seal with (Thales Luna in FIPS mode appends its IV to the output): nothing was handed out. Its message is written
   * for the client as well as the log (no return code, no key material), since only it says what the operator must
   * change.
   */
  GCM_IV_MODE(false, false),
  /** The key object's own attributes do not allow this function (CKA_ENCRYPT or CKA_DECRYPT false, say). */
  KEY_USAGE_NOT_PERMITTED(false, false),
  /** Anything else. */
  OTHER(false, false);

  private final boolean sessionFatal;
  private final boolean moduleFatal;

  HsmErrorKind(boolean sessionFatal, boolean moduleFatal) {
    this.sessionFatal = sessionFatal;
    this.moduleFatal = moduleFatal;
  }

  /** The session that saw this error must not be used again. */
  public boolean sessionFatal() {
    return sessionFatal;
  }

  /** Every session of the module is suspect: reconnect, re-initialising the module. */
  public boolean moduleFatal() {
    return moduleFatal;
  }
}
