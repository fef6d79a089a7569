package io.kmsgw.kms;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.policy.PolicyDocument;
import io.kmsgw.policy.PolicyException;
import io.kmsgw.policy.PolicyParser;
import io.kmsgw.store.MetadataStore;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every key's key policy, parsed, in memory: the authorizer reads it on the event loop for every request. A key
 * without a stored policy (created before key policies existed) has the AWS default key policy of its account.
 * Writes go to the store first and then here, so what is in memory was durable before anyone could rely on it.
 */
public final class KeyPolicies {
  /** The only policy name AWS KMS has. */
  public static final String DEFAULT_NAME = "default";
  /** AWS KMS refuses key policies over 32 KB with LimitExceededException. */
  public static final int MAX_BYTES = 32 * 1024;

  /** AWS's answer when a new key policy would lock its author out. */
  public static final String LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in "
      + "the future.";

  private final ConcurrentHashMap<UUID, PolicyDocument> byKey = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, PolicyDocument> defaults = new ConcurrentHashMap<>();

  /** AWS's default key policy: the account root may do everything, which hands the key to the account's IAM. */
  public static String defaultPolicy(String accountId) {
    return "{\n"
        + "  \"Version\" : \"2012-10-17\",\n"
        + "  \"Id\" : \"key-default-1\",\n"
        + "  \"Statement\" : [ {\n"
        + "    \"Sid\" : \"Enable IAM User Permissions\",\n"
        + "    \"Effect\" : \"Allow\",\n"
        + "    \"Principal\" : {\n"
        + "      \"AWS\" : \"arn:aws:iam::" + accountId + ":root\"\n"
        + "    },\n"
        + "    \"Action\" : \"kms:*\",\n"
        + "    \"Resource\" : \"*\"\n"
        + "  } ]\n"
        + "}";
  }

  /**
   * Parses a submitted key policy.
   *
   * @throws KmsException MalformedPolicyDocumentException with the parser's reason, LimitExceededException when
   *     larger than 32 KB
   */
  public static PolicyDocument parse(String document) {
    if (document.length() > MAX_BYTES) {
      throw new KmsException(ErrorCode.LIMIT_EXCEEDED,
          "The key policy is " + document.length() + " characters; the most a key policy may have is " + MAX_BYTES + ".");
    }
    try {
      return PolicyParser.parse(document, PolicyParser.Kind.KEY);
    } catch (PolicyException e) {
      throw new KmsException(ErrorCode.MALFORMED_POLICY_DOCUMENT, e.getMessage());
    }
  }

  /** Checks a policy name: only {@code default} exists. */
  public static void checkName(String name) {
    if (name != null && !DEFAULT_NAME.equals(name)) {
      throw KmsException.notFound("Key policy " + name + " does not exist: the only key policy name is default.");
    }
  }

  /** Loads every stored key policy (at start). A stored policy that no longer parses stops the start. */
  public void load(MetadataStore store) {
    byKey.clear();
    // most keys share a few texts (every key created under the default policy stores the same one): each distinct
    // text is parsed once and its keys share the parsed, immutable document
    Map<String, PolicyDocument> parsed = new java.util.HashMap<>();
    for (Map.Entry<UUID, String> e : store.keyPolicies().entrySet()) {
      try {
        byKey.put(e.getKey(), parsed.computeIfAbsent(e.getValue(),
            text -> PolicyParser.parse(text, PolicyParser.Kind.KEY)));
      } catch (PolicyException ex) {
        throw new IllegalStateException("the stored key policy of key " + e.getKey() + " does not parse: "
            + ex.getMessage(), ex);
      }
    }
  }

  /** The key's policy. */
  public PolicyDocument of(KeyRecord key) {
    PolicyDocument p = byKey.get(key.keyId());
    return p != null ? p : defaults.computeIfAbsent(key.accountId(),
        account -> PolicyParser.parse(defaultPolicy(account), PolicyParser.Kind.KEY));
  }

  /** Records a policy the store now holds. */
  public void put(UUID keyId, PolicyDocument policy) {
    byKey.put(keyId, policy);
  }

  /** Forgets a deleted key's policy. */
  public void remove(UUID keyId) {
    byKey.remove(keyId);
  }
}
