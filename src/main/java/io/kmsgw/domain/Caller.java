package io.kmsgw.domain;

/**
 * Who made a request, as established by the signature check: the IAM principal ARN, its account, and the
 * access key id that signed. Never holds a secret.
 */
public record Caller(String arn, String accountId, String principalId, String accessKeyId, String type) {
  /** The caller for work the gateway does by itself (reconciliation, scheduled tasks). */
  public static Caller service(String accountId) {
    return new Caller("kms.amazonaws.com", accountId, "kms.amazonaws.com", "", "AWSService");
  }
}
