package io.kmsgw.kms;

import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.policy.ConditionKeys;
import io.kmsgw.policy.IdentityPolicies;
import io.kmsgw.policy.PolicyDocument;
import io.kmsgw.policy.PolicyEvaluator;
import io.kmsgw.policy.Principal;
import io.kmsgw.policy.RequestContext;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Decides whether a caller may run an operation: on a key (key policy, the caller's IAM policies, grants) or on
 * the account (IAM policies only, as for CreateKey and ListKeys). Pure and in memory; runs on whatever thread
 * calls it, the event loop included. Work the gateway does by itself (the {@code AWSService} caller) is not
 * checked.
 *
 * <p>The request context carries {@code kms:CallerAccount}, {@code aws:Principal*}, {@code aws:SourceIp},
 * {@code aws:CurrentTime}, {@code aws:EpochTime}, {@code aws:SecureTransport}, {@code aws:RequestedRegion} (key
 * operations), {@code kms:KeySpec}, {@code kms:KeyUsage},
 * {@code kms:KeyOrigin}, {@code kms:RequestAlias}, {@code kms:ResourceAliases} (only when
 * a policy asks, since it costs a scan of the aliases), the encryption context keys, and whatever the operation
 * adds. {@code kms:ViaService} is never present: no AWS service stands between callers and the gateway.
 */
public final class Authorizer {
  private static final String RESOURCE_ALIASES = ConditionKeys.canonical("kms:ResourceAliases");
  private static final String KEY_SPEC = ConditionKeys.canonical("kms:KeySpec");
  private static final String KEY_USAGE = ConditionKeys.canonical("kms:KeyUsage");
  private static final String KEY_ORIGIN = ConditionKeys.canonical("kms:KeyOrigin");
  private static final String CURRENT_TIME = ConditionKeys.canonical("aws:CurrentTime");
  private static final String EPOCH_TIME = ConditionKeys.canonical("aws:EpochTime");
  private static final String SOURCE_IP = ConditionKeys.canonical("aws:SourceIp");
  private static final String REQUEST_ALIAS = ConditionKeys.canonical("kms:RequestAlias");
  private static final String SECURE_TRANSPORT = ConditionKeys.canonical("aws:SecureTransport");
  private static final String REQUESTED_REGION = ConditionKeys.canonical("aws:RequestedRegion");

  /**
   * Which condition keys the policies of one decision look at: values nobody asks for are not computed (a key
   * absent from the request context and a key no condition names cannot change the outcome).
   */
  private record Wanted(PolicyDocument resource, List<PolicyDocument> identity) {
    boolean any(String canonicalKey) {
      if (resource != null && resource.mentions(canonicalKey)) {
        return true;
      }
      for (PolicyDocument d : identity) {
        if (d.mentions(canonicalKey)) {
          return true;
        }
      }
      return false;
    }

    boolean encryptionContext() {
      if (resource != null && resource.usesEncryptionContext()) {
        return true;
      }
      for (PolicyDocument d : identity) {
        if (d.usesEncryptionContext()) {
          return true;
        }
      }
      return false;
    }
  }

  private final KeyPolicies policies;
  private final IdentityPolicies identities;
  private final Clock clock;
  private volatile Function<UUID, List<String>> aliasesOf = keyId -> List.of();
  private volatile GrantAuthority grants = GrantAuthority.NONE;

  /**
   * What principals of another account may do with a key its policy shares with them (AWS's "Cross-account use:
   * Yes" operations); everything else is for the key's own account, whatever the key policy says.
   */
  static final java.util.Set<String> CROSS_ACCOUNT_OPERATIONS = java.util.Set.of("Encrypt", "Decrypt", "ReEncryptFrom",
      "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
      "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "Sign", "Verify", "GetPublicKey",
      "DeriveSharedSecret", "DescribeKey", "GetKeyRotationStatus", "CreateGrant", "ListGrants", "RetireGrant",
      "RevokeGrant");

  private final String account;

  /**
   * @param account the gateway's own account: the one whose keys, aliases and key stores it serves
   */
  public Authorizer(String account, KeyPolicies policies, IdentityPolicies identities, Clock clock) {
    this.account = account;
    this.policies = policies;
    this.identities = identities;
    this.clock = clock;
  }

  /** Where a key's alias names come from (set once the alias service exists; it must answer from memory). */
  public void aliases(Function<UUID, List<String>> aliasNamesOfKey) {
    this.aliasesOf = aliasNamesOfKey;
  }

  /** Where grants are looked up (set once the grant service exists). */
  public void grants(GrantAuthority authority) {
    this.grants = authority;
  }

  /** A deleted key: its policy and grants are gone from the store, and now from memory. */
  public void forgetKey(UUID keyId) {
    policies.remove(keyId);
    grants.forgetKey(keyId);
  }

  public KeyPolicies policies() {
    return policies;
  }

  public IdentityPolicies identities() {
    return identities;
  }

  /** Whether the caller is the gateway itself. */
  static boolean internal(Caller caller) {
    return "AWSService".equals(caller.type());
  }

  /** {@link #onKey(Caller, String, KeyRecord, Map, Consumer)} with nothing operation-specific. */
  public void onKey(Caller caller, String operation, KeyRecord key, Map<String, String> encryptionContext) {
    onKey(caller, operation, key, encryptionContext, null);
  }

  /**
   * Checks {@code kms:<operation>} on a key.
   *
   * @param operation the action without its prefix ({@code Encrypt}, {@code ReEncryptFrom}); it is also the grant
   *     operation a grant must list
   * @param encryptionContext the request's encryption context, or null for operations that have none
   * @param extra operation-specific condition keys, or null
   * @throws KmsException AccessDeniedException with AWS's message when neither a policy nor a grant allows
   */
  public void onKey(Caller caller, String operation, KeyRecord key, Map<String, String> encryptionContext,
      Consumer<RequestContext.Builder> extra) {
    onKey(caller, operation, key, encryptionContext, extra, grants);
  }

  /**
   * {@link #onKey(Caller, String, KeyRecord, Map, Consumer)} with the grant check of this one request given: for
   * CreateGrant (a grant allows it only for a grant within its own operations and constraints) and RetireGrant (the
   * grant being retired decides). An explicit Deny still wins over it.
   */
  public void onKey(Caller caller, String operation, KeyRecord key, Map<String, String> encryptionContext,
      Consumer<RequestContext.Builder> extra, GrantAuthority grants) {
    if (internal(caller)) {
      return;
    }
    if (!caller.accountId().equals(key.accountId()) && !CROSS_ACCOUNT_OPERATIONS.contains(operation)) {
      throw new KmsException(ErrorCode.ACCESS_DENIED, "User: " + caller.arn() + " is not authorized to perform: kms:"
          + operation + " on resource: " + key.arn() + " because kms:" + operation + " cannot be used on a key of "
          + "another account");
    }
    PolicyDocument keyPolicy = policies.of(key);
    List<PolicyDocument> identity = identities.of(caller);
    Wanted wanted = new Wanted(keyPolicy, identity);
    RequestContext.Builder b = common(caller, "kms:" + operation, key.arn(), wanted);
    if (wanted.any(KEY_SPEC)) {
      b.put(KEY_SPEC, key.keySpec().name());
    }
    if (wanted.any(KEY_USAGE)) {
      b.put(KEY_USAGE, key.keyUsage().name());
    }
    if (wanted.any(KEY_ORIGIN)) {
      b.put(KEY_ORIGIN, key.origin().name());
    }
    if (wanted.any(REQUESTED_REGION)) {
      b.put(REQUESTED_REGION, key.region());
    }
    if (encryptionContext != null && !encryptionContext.isEmpty() && wanted.encryptionContext()) {
      b.encryptionContext(encryptionContext);
    }
    if (wanted.any(RESOURCE_ALIASES)) {
      b.putAll(RESOURCE_ALIASES, aliasesOf.apply(key.keyId()));
    }
    if (extra != null) {
      extra.accept(b);
    }
    RequestContext r = b.build();
    PolicyEvaluator.Outcome outcome = PolicyEvaluator.evaluate(r, key.accountId(), keyPolicy, identity, false);
    if (outcome.allowed()) {
      return;
    }
    boolean explicitDeny = outcome == PolicyEvaluator.Outcome.EXPLICIT_DENY_IDENTITY
        || outcome == PolicyEvaluator.Outcome.EXPLICIT_DENY_RESOURCE;
    if (!explicitDeny
        && grants.allows(key, caller, operation, encryptionContext == null ? Map.of() : encryptionContext)) {
      return;
    }
    throw new KmsException(ErrorCode.ACCESS_DENIED, outcome.message(r));
  }

  /**
   * Checks an action that has no key (CreateKey, ListKeys, GenerateRandom, custom key store operations) against the
   * caller's IAM policies alone; the account root may do everything.
   *
   * @param action the full action ({@code kms:CreateKey})
   * @param resource the resource ARN, or {@code "*"}
   */
  public void onAccount(Caller caller, String action, String resource, Consumer<RequestContext.Builder> extra) {
    if (internal(caller)) {
      return;
    }
    if (!caller.accountId().equals(account)) {
      throw new KmsException(ErrorCode.ACCESS_DENIED, "User: " + caller.arn() + " is not authorized to perform: "
          + action + " on resource: " + resource + " because " + action + " acts on the account " + account
          + " only");
    }
    List<PolicyDocument> identity = identities.of(caller);
    RequestContext.Builder b = common(caller, action, resource, new Wanted(null, identity));
    if (extra != null) {
      extra.accept(b);
    }
    RequestContext r = b.build();
    PolicyEvaluator.Outcome outcome = PolicyEvaluator.evaluateIdentity(r, identity);
    if (!outcome.allowed()) {
      throw new KmsException(ErrorCode.ACCESS_DENIED, outcome.message(r));
    }
  }

  /**
   * Whether a policy would let the caller make the next PutKeyPolicy on a key with this key policy: AWS's lockout
   * safety check for CreateKey and PutKeyPolicy.
   */
  public boolean keepsPutKeyPolicy(Caller caller, KeyRecord key, PolicyDocument candidate) {
    if (internal(caller)) {
      return true;
    }
    List<PolicyDocument> identity = identities.of(caller);
    RequestContext r = common(caller, "kms:PutKeyPolicy", key.arn(), new Wanted(candidate, identity))
        .put(KEY_SPEC, key.keySpec().name())
        .put(KEY_USAGE, key.keyUsage().name())
        .put(KEY_ORIGIN, key.origin().name())
        .build();
    return PolicyEvaluator.evaluate(r, key.accountId(), candidate, identity, false).allowed();
  }

  /** Callers' principals, parsed once per ARN; bounded (cleared when full) since session ARNs come and go. */
  private final java.util.concurrent.ConcurrentHashMap<String, Principal> principals =
      new java.util.concurrent.ConcurrentHashMap<>();

  private Principal principal(Caller caller) {
    Principal p = principals.get(caller.arn());
    if (p == null) {
      if (principals.size() > 10_000) {
        principals.clear();
      }
      p = Principal.of(caller.arn());
      principals.put(caller.arn(), p);
    }
    return p;
  }

  private RequestContext.Builder common(Caller caller, String action, String resource, Wanted wanted) {
    RequestContext.Builder b = RequestContext.builder(principal(caller), action, resource);
    if (wanted.any(CURRENT_TIME) || wanted.any(EPOCH_TIME)) {
      Instant now = clock.instant();
      b.put(CURRENT_TIME, DateTimeFormatter.ISO_INSTANT.format(now)).put(EPOCH_TIME,
          Long.toString(now.getEpochSecond()));
    }
    if (wanted.any(SOURCE_IP)) {
      b.put(SOURCE_IP, caller.scope().sourceIp());
    }
    if (wanted.any(REQUEST_ALIAS)) {
      b.put(REQUEST_ALIAS, caller.scope().requestAlias());
    }
    if (wanted.any(SECURE_TRANSPORT)) {
      b.put(SECURE_TRANSPORT, Boolean.toString(caller.scope().secureTransport()));
    }
    return b;
  }
}
