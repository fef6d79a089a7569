package io.kmsgw.audit;

/** The audit trail cannot take the event now (closed, queue full, or the disk failing); the request must fail. */
public final class AuditException extends RuntimeException {
  public AuditException(String message, Throwable cause) {
    super(message, cause);
  }

  public AuditException(String message) {
    super(message);
  }
}
