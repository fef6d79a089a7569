package io.kmsgw.kms;

import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import java.util.Map;

/**
 * Whether a grant on a key allows a request. Read on the event loop for every request that a policy does not
 * allow, so implementations answer from memory and never block.
 */
@FunctionalInterface
public interface GrantAuthority {
  /** No grants at all. */
  GrantAuthority NONE = (key, caller, operation, context) -> false;

  /**
   * @param operation the grant operation, which is the API operation's name ({@code Decrypt},
   *     {@code GenerateDataKey}, ...)
   * @param encryptionContext the request's encryption context (empty when it has none), for grant constraints
   * @return whether a grant on {@code key} whose grantee is the caller allows {@code operation}; grant tokens in
   *     {@code caller.scope()} make grants usable before they are visible everywhere
   */
  boolean allows(KeyRecord key, Caller caller, String operation, Map<String, String> encryptionContext);

  /** The key was deleted (with its grants, in the store): forget its grants. */
  default void forgetKey(java.util.UUID keyId) {}
}
