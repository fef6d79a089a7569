package io.kmsgw.policy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a policy is evaluated against: who, which action ({@code kms:Encrypt}), which resource (an ARN), and the
 * values of the condition keys, under their canonical names ({@link ConditionKeys#canonical}).
 */
public record RequestContext(Principal principal, String action, String resource, Map<String, List<String>> keys) {
  public RequestContext {
    keys = Map.copyOf(keys);
  }

  /** The request's values for a key, or null when the request does not have it. */
  public List<String> values(String canonicalKey) {
    return keys.get(canonicalKey);
  }

  public static Builder builder(Principal principal, String action, String resource) {
    return new Builder(principal, action, resource);
  }

  /** Collects condition key values; the {@code aws:Principal*} keys are filled in from the principal. */
  public static final class Builder {
    private static final String PRINCIPAL_ARN = ConditionKeys.canonical("aws:PrincipalArn");
    private static final String PRINCIPAL_ACCOUNT = ConditionKeys.canonical("aws:PrincipalAccount");
    private static final String PRINCIPAL_TYPE = ConditionKeys.canonical("aws:PrincipalType");
    private static final String CALLER_ACCOUNT = ConditionKeys.canonical("kms:CallerAccount");

    private final Principal principal;
    private final String action;
    private final String resource;
    private final Map<String, List<String>> keys = new HashMap<>();

    private Builder(Principal principal, String action, String resource) {
      this.principal = principal;
      this.action = action;
      this.resource = resource;
      keys.put(PRINCIPAL_ARN, List.of(principal.principalArn()));
      keys.put(PRINCIPAL_ACCOUNT, List.of(principal.account()));
      keys.put(PRINCIPAL_TYPE, List.of(principal.kind().principalType));
      keys.put(CALLER_ACCOUNT, List.of(principal.account()));
    }

    /** Sets a single-valued key (ignored when the value is null: the request does not have the key). */
    public Builder put(String key, String value) {
      if (value != null) {
        keys.put(ConditionKeys.canonical(key), List.of(value));
      }
      return this;
    }

    /** Sets a multi-valued key; an empty list is the key with no values. */
    public Builder putAll(String key, List<String> values) {
      if (values != null) {
        keys.put(ConditionKeys.canonical(key), List.copyOf(values));
      }
      return this;
    }

    /** {@code kms:EncryptionContext:<k>} for each pair and {@code kms:EncryptionContextKeys}. */
    public Builder encryptionContext(Map<String, String> context) {
      if (context == null) {
        return this;
      }
      for (Map.Entry<String, String> e : context.entrySet()) {
        keys.put(ConditionKeys.ENCRYPTION_CONTEXT_PREFIX + e.getKey(), List.of(e.getValue()));
      }
      keys.put(ConditionKeys.canonical("kms:EncryptionContextKeys"), List.copyOf(context.keySet()));
      return this;
    }

    public RequestContext build() {
      return new RequestContext(principal, action, resource, keys);
    }
  }
}
