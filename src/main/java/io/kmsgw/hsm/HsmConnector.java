package io.kmsgw.hsm;

/** Connects to one HSM token: load and initialise the library, find the token, log in, open sessions. */
public interface HsmConnector {
  /**
   * Connects. The listener hears of failures after which the connection is unusable (device errors, logged
   * out) so the owner can reconnect.
   */
  Hsm connect(FatalErrorListener listener) throws HsmException;

  /**
   * Makes the next {@link #connect} start clean after a connection died of a device error: for PKCS#11,
   * finalise and re-initialise the library.
   */
  void recover() throws HsmException;

  /** Short description for logs: library and token label, never a PIN. */
  String describe();

  @FunctionalInterface
  interface FatalErrorListener {
    void onFatal(HsmException error);
  }
}
