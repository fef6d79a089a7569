package io.kmsgw.keystore;

import io.kmsgw.hsm.HsmErrorKind;

/**
 * What a key store that failed to connect, or lost its connection, tells: the AWS {@code ConnectionErrorCode} of
 * the failure, and the advice appended to its message and log line.
 */
final class ConnectionFailures {
  private ConnectionFailures() {}

  /** The AWS ConnectionErrorCode for an HSM failure. */
  static String errorCode(HsmErrorKind kind) {
    return switch (kind) {
      case PIN_INCORRECT -> "INVALID_CREDENTIALS";
      case PIN_LOCKED -> "USER_LOCKED_OUT";
      case ANOTHER_USER_LOGGED_IN -> "USER_LOGGED_IN";
      case TOKEN_NOT_FOUND -> "CLUSTER_NOT_FOUND";
      // AWS: "the associated CloudHSM cluster does not contain any active HSMs" (see docs/decisions.md)
      case INSUFFICIENT_HSMS, TOKEN_REMOVED -> "INSUFFICIENT_CLOUDHSM_HSMS";
      case DEVICE_ERROR, NOT_LOGGED_IN, SESSION_INVALID, LIBRARY_REINITIALISED -> "NETWORK_ERRORS";
      default -> "INTERNAL_ERROR";
    };
  }

  /**
   * What the operator can do, naming the settings of the store: the default store's {@code hsm.*} or a custom
   * store's password and cluster definition ({@code clusters.<id>.*}).
   */
  static String advice(HsmErrorKind kind, boolean custom) {
    return switch (kind) {
      case PIN_INCORRECT -> custom ? "check the key store password (set it with UpdateCustomKeyStore while the "
          + "store is DISCONNECTED)" : "check the crypto user PIN (hsm.pin_file or KMSGW_HSM_PIN), then restart";
      case PIN_LOCKED -> "the crypto user is locked out; the security officer must unlock it or reset its PIN";
      case ANOTHER_USER_LOGGED_IN -> "another user (the security officer?) is logged in to the token; log it out";
      case TOKEN_NOT_FOUND -> "check the token label and that the token is initialised";
      case TOKEN_REMOVED -> "the token is not in its slot; put it back or bring its HSM up";
      case INSUFFICIENT_HSMS -> "fewer HSMs answer than the definition's min_hsms; check the cluster's members";
      case LIBRARY_ERROR -> custom
          ? "check the cluster's library and init_args (clusters.<id>.library, clusters.<id>.init_args) and the "
              + "vendor client installation"
          : "check hsm.library, hsm.init_args and the vendor client installation";
      case UNSUPPORTED -> "this token cannot serve as a kmsgw key store (see docs/hsm-vendors.md)";
      case DEVICE_ERROR, NOT_LOGGED_IN -> "check the HSM and the network path to it";
      default -> "see the log for details";
    };
  }
}
