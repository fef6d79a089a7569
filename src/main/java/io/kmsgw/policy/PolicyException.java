package io.kmsgw.policy;

/**
 * A policy document that is not valid JSON, breaks the policy grammar, or uses something kmsgw does not support
 * (which is refused, never ignored). The message says where: {@code Statement[1].Condition.StringEquals: ...}.
 */
public final class PolicyException extends RuntimeException {
  public PolicyException(String message) {
    super(message, null, false, false);
  }
}
