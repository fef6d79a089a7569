package io.kmsgw.api.kms;

import io.kmsgw.domain.Caller;

/** One KMS request as the operation handlers see it: who asked, under which request id. */
public final class OperationContext {
  private final String requestId;
  private final String operation;
  private volatile Caller caller;
  private volatile String keyArn;
  private volatile java.util.Map<String, Object> request;

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

  /**
   * Adds what the request body says about the caller's request (kms:RequestAlias, GrantTokens) to its scope; the
   * source address is already there.
   */
  public void scope(String requestAlias, java.util.List<String> grantTokens) {
    Caller.Scope s = caller.scope();
    caller = caller.in(new Caller.Scope(s.sourceIp(), requestAlias, grantTokens, s.secureTransport()));
  }

  /** The request body as parsed (before validation), for the audit trail; null until parsed. */
  public java.util.Map<String, Object> request() {
    return request;
  }

  public void request(java.util.Map<String, Object> parsed) {
    this.request = parsed;
  }

  /** The key the request used, for the request log; null until known. */
  public String keyArn() {
    return keyArn;
  }

  public void keyArn(String arn) {
    this.keyArn = arn;
  }
}
