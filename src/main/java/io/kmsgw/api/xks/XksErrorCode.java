package io.kmsgw.api.xks;

/** The XKS proxy API's errors (XKS spec, "Error codes"): the {@code errorName} and its HTTP status. */
public enum XksErrorCode {
  VALIDATION("ValidationException", 400),
  INVALID_STATE("InvalidStateException", 400),
  INVALID_CIPHERTEXT("InvalidCiphertextException", 400),
  INVALID_KEY_USAGE("InvalidKeyUsageException", 400),
  AUTHENTICATION_FAILED("AuthenticationFailedException", 401),
  ACCESS_DENIED("AccessDeniedException", 403),
  KEY_NOT_FOUND("KeyNotFoundException", 404),
  INVALID_URI_PATH("InvalidUriPathException", 404),
  THROTTLING("ThrottlingException", 429),
  UNSUPPORTED_OPERATION("UnsupportedOperationException", 501),
  DEPENDENCY_TIMEOUT("DependencyTimeoutException", 503),
  INTERNAL("InternalException", 500);

  private final String errorName;
  private final int httpStatus;

  XksErrorCode(String errorName, int httpStatus) {
    this.errorName = errorName;
    this.httpStatus = httpStatus;
  }

  public String errorName() {
    return errorName;
  }

  public int httpStatus() {
    return httpStatus;
  }
}
