package io.kmsgw.api.kms;

import io.kmsgw.domain.Caller;

/** One KMS request as the operation handlers see it: who asked, under which request id. */
public final class OperationContext {
  private final String requestId;
  private final String operation;
  private final Caller caller;
  private volatile String keyArn;

  public OperationContext(String requestId, String operation, Caller caller) {
    this.requestId = requestId;
    this.operation = operation;
    this.caller = caller;
  }

  public String requestId() {
    return requestId;
  }

  public String operation() {
    return operation;
  }

  public Caller caller() {
    return caller;
  }

  /** The key the request used, for the request log; null until known. */
  public String keyArn() {
    return keyArn;
  }

  public void keyArn(String arn) {
    this.keyArn = arn;
  }
}
