package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.*;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import org.xipki.pkcs11.wrapper.PKCS11Exception;

/**
 * The single place where PKCS#11 return codes become {@link HsmErrorKind}s. Vendor quirks are noted where they
 * change the mapping.
 */
final class CkrMapping {
  /** What the failed call was doing; some codes mean different things in different calls. */
  enum Call {
    INITIALIZE,
    LOGIN,
    OPEN_SESSION,
    GENERATE_KEY,
    ENCRYPT,
    DECRYPT,
    RANDOM,
    FIND,
    DESTROY,
    GET_ATTRIBUTES,
    SESSION_INFO,
    SIGN,
    MECHANISMS,
    DERIVE
  }

  private final boolean generalErrorMeansBadTag;

  /**
   * @param generalErrorMeansBadTag SoftHSM2 answers a failed GCM tag check with CKR_GENERAL_ERROR instead of
   *     CKR_ENCRYPTED_DATA_INVALID (measured on 2.6.1); with this flag that code on a decrypt is a bad
   *     ciphertext, not a device failure, and the session stays usable.
   */
  CkrMapping(boolean generalErrorMeansBadTag) {
    this.generalErrorMeansBadTag = generalErrorMeansBadTag;
  }

  HsmException map(PKCS11Exception e, Call call, String what) {
    long ckr = e.getErrorCode();
    return new HsmException(kind(ckr, call), ckr, e.getErrorName(), what, e);
  }

  HsmErrorKind kind(long ckr, Call call) {
    if (ckr == CKR_GENERAL_ERROR) {
      return call == Call.DECRYPT && generalErrorMeansBadTag ? HsmErrorKind.BAD_CIPHERTEXT : HsmErrorKind.DEVICE_ERROR;
    }
    if (ckr == CKR_ENCRYPTED_DATA_INVALID || ckr == CKR_ENCRYPTED_DATA_LEN_RANGE || ckr == CKR_AEAD_DECRYPT_FAILED) {
      return call == Call.DECRYPT ? HsmErrorKind.BAD_CIPHERTEXT : HsmErrorKind.OTHER;
    }
    if (ckr == CKR_KEY_HANDLE_INVALID || ckr == CKR_OBJECT_HANDLE_INVALID) {
      return HsmErrorKind.STALE_HANDLE;
    }
    if (ckr == CKR_SESSION_HANDLE_INVALID || ckr == CKR_SESSION_CLOSED) {
      return HsmErrorKind.SESSION_INVALID;
    }
    if (ckr == CKR_OPERATION_ACTIVE) {
      // an earlier call left an operation open on this session (PKCS#11: a CKR_BUFFER_TOO_SMALL from C_Encrypt does
      // not end it, and a token without C_EncryptMessage gives the adapter no way to finish it): the session is
      // useless for new operations, so it is closed and the call retried once on another, like an invalid handle
      return HsmErrorKind.SESSION_INVALID;
    }
    if (ckr == CKR_TOKEN_NOT_PRESENT || ckr == CKR_DEVICE_REMOVED) {
      // the token left its slot (a removed card, an HSM gone from the cluster): the library itself is fine
      return HsmErrorKind.TOKEN_REMOVED;
    }
    if (ckr == CKR_DEVICE_ERROR || ckr == CKR_TOKEN_NOT_RECOGNIZED || ckr == CKR_CRYPTOKI_NOT_INITIALIZED) {
      return HsmErrorKind.DEVICE_ERROR;
    }
    if (ckr == CKR_SLOT_ID_INVALID) {
      // the adapter only uses slot ids the library listed when it connected, so a slot that is no longer valid went
      // away under it. NSS's softoken answers this, not CKR_CRYPTOKI_NOT_INITIALIZED, to C_OpenSession once the
      // library was finalised under a connection (measured, Pkcs11HsmTest on NSS): the module must be re-initialised
      return HsmErrorKind.DEVICE_ERROR;
    }
    if (ckr == CKR_USER_NOT_LOGGED_IN) {
      return HsmErrorKind.NOT_LOGGED_IN;
    }
    if (ckr == CKR_PIN_INCORRECT || ckr == CKR_PIN_INVALID || ckr == CKR_PIN_LEN_RANGE || ckr == CKR_PIN_EXPIRED
        || ckr == CKR_USER_PIN_NOT_INITIALIZED) {
      return HsmErrorKind.PIN_INCORRECT;
    }
    if (ckr == CKR_PIN_LOCKED) {
      return HsmErrorKind.PIN_LOCKED;
    }
    if (ckr == CKR_USER_ANOTHER_ALREADY_LOGGED_IN || ckr == CKR_USER_TOO_MANY_TYPES
        || ckr == CKR_SESSION_READ_WRITE_SO_EXISTS) {
      return HsmErrorKind.ANOTHER_USER_LOGGED_IN;
    }
    if (ckr == CKR_SESSION_COUNT || ckr == CKR_DEVICE_MEMORY || ckr == CKR_HOST_MEMORY) {
      return HsmErrorKind.RESOURCE_EXHAUSTED;
    }
    if (ckr == CKR_MECHANISM_INVALID || ckr == CKR_MECHANISM_PARAM_INVALID || ckr == CKR_ATTRIBUTE_TYPE_INVALID
        || ckr == CKR_ATTRIBUTE_VALUE_INVALID || ckr == CKR_TEMPLATE_INCONSISTENT || ckr == CKR_TEMPLATE_INCOMPLETE
        || ckr == CKR_FUNCTION_NOT_SUPPORTED || ckr == CKR_KEY_TYPE_INCONSISTENT
        // a curve the token does not implement (NSS's softoken has no secp256k1)
        || ckr == CKR_CURVE_NOT_SUPPORTED || ckr == CKR_DOMAIN_PARAMS_INVALID) {
      return HsmErrorKind.UNSUPPORTED;
    }
    if (ckr == CKR_KEY_FUNCTION_NOT_PERMITTED) {
      // the key's usage attributes forbid the call (an operator may have changed them): not a missing feature
      return HsmErrorKind.KEY_USAGE_NOT_PERMITTED;
    }
    return HsmErrorKind.OTHER;
  }
}
