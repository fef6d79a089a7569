package io.kmsgw.api.xks;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;

/**
 * An XKS API error: its {@link XksErrorCode} and an {@code errorMessage} that is printable ASCII and shorter than
 * 512 characters (XKS spec, "Error codes"), never a secret or plaintext.
 */
public final class XksException extends RuntimeException {
  static final int MAX_MESSAGE = 511;
  private final XksErrorCode code;

  public XksException(XksErrorCode code, String message) {
    this(code, message, null);
  }

  public XksException(XksErrorCode code, String message, Throwable cause) {
    super(printable(message), cause, false, cause != null);
    this.code = code;
  }

  public XksErrorCode code() {
    return code;
  }

  /** Printable ASCII (0x20..0x7e) only, cut below 512 characters. */
  static String printable(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder sb = new StringBuilder(Math.min(s.length(), MAX_MESSAGE));
    for (int i = 0; i < s.length() && sb.length() < MAX_MESSAGE; i++) {
      char c = s.charAt(i);
      sb.append(c >= 0x20 && c <= 0x7e ? c : '?');
    }
    return sb.toString();
  }

  /**
   * The XKS error for a failure of the operations layer. Its message is already fit for a client; HSM detail stays
   * in the cause, for the log.
   */
  static XksException from(KmsException e) {
    XksErrorCode code = switch (e.code()) {
      case NOT_FOUND -> XksErrorCode.KEY_NOT_FOUND;
      case INVALID_KEY_USAGE -> XksErrorCode.INVALID_KEY_USAGE;
      case INVALID_CIPHERTEXT -> XksErrorCode.INVALID_CIPHERTEXT;
      case KMS_INVALID_STATE, DISABLED, CUSTOM_KEY_STORE_INVALID_STATE, CUSTOM_KEY_STORE_NOT_FOUND ->
          XksErrorCode.INVALID_STATE;
      case THROTTLING, LIMIT_EXCEEDED -> XksErrorCode.THROTTLING;
      case DEPENDENCY_TIMEOUT -> XksErrorCode.DEPENDENCY_TIMEOUT;
      case UNSUPPORTED_OPERATION -> XksErrorCode.UNSUPPORTED_OPERATION;
      case VALIDATION, SERIALIZATION -> XksErrorCode.VALIDATION;
      case ACCESS_DENIED -> XksErrorCode.ACCESS_DENIED;
      default -> XksErrorCode.INTERNAL;
    };
    String message = code == XksErrorCode.INTERNAL && e.code() == ErrorCode.KEY_UNAVAILABLE
        ? "The HSM could not be reached." : e.getMessage();
    return new XksException(code, message, e.getCause() != null ? e.getCause() : e);
  }
}
