package io.kmsgw.hsm;

/**
 * A failure in the HSM: its kind, and the raw PKCS#11 return code when there is one ({@code -1} otherwise).
 * The message is for operators' logs; it never contains key material or PINs, and clients never see it.
 */
public final class HsmException extends Exception {
  private final HsmErrorKind kind;
  private final long ckr;
  private final String ckrName;

  public HsmException(HsmErrorKind kind, String message) {
    this(kind, -1, null, message, null);
  }

  public HsmException(HsmErrorKind kind, long ckr, String ckrName, String message, Throwable cause) {
    super(message + (ckrName == null ? "" : " (" + ckrName + ")"), cause);
    this.kind = kind;
    this.ckr = ckr;
    this.ckrName = ckrName;
  }

  public HsmErrorKind kind() {
    return kind;
  }

  /** The PKCS#11 return code, or {@code -1}. */
  public long ckr() {
    return ckr;
  }

  /** The return code's name, such as {@code CKR_PIN_INCORRECT}, or null. */
  public String ckrName() {
    return ckrName;
  }
}
