package io.kmsgw.store;

/** The metadata store failed (I/O, constraint, connection). Internal detail: clients see KMSInternalException. */
public final class StoreException extends RuntimeException {
  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }

  public StoreException(String message) {
    super(message);
  }
}
