package io.kmsgw.policy;

import io.kmsgw.domain.Caller;
import java.util.List;

/**
 * The identity-based policies of a caller: an IAM user's inline policies, or the assumed role's for a role
 * session. Read on the event loop for every request, so implementations answer from memory and never block.
 */
@FunctionalInterface
public interface IdentityPolicies {
  /** No identity has any policy (only account roots and key policies naming principals directly allow). */
  IdentityPolicies NONE = caller -> List.of();

  /** The caller's policies, parsed; empty for an account root (which needs none) and for unknown callers. */
  List<PolicyDocument> of(Caller caller);
}
