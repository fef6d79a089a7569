package io.kmsgw.error;

/**
 * The one exception type of the gateway's API: an {@link ErrorCode} and a message the client may read.
 *
 * <p>The message is shown to clients as is, so it never carries key material, plaintext, PINs, secrets or
 * internal detail such as PKCS#11 return codes; those go to the log through the cause.
 */
public final class KmsException extends RuntimeException {
  private final ErrorCode code;

  public KmsException(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public KmsException(ErrorCode code, String message, Throwable cause) {
    super(message, cause, false, true);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }

  public static KmsException validation(String message) {
    return new KmsException(ErrorCode.VALIDATION, message);
  }

  public static KmsException notFound(String message) {
    return new KmsException(ErrorCode.NOT_FOUND, message);
  }

  public static KmsException internal(String message, Throwable cause) {
    return new KmsException(ErrorCode.KMS_INTERNAL, message, cause);
  }
}
