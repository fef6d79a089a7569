package io.kmsgw.policy;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The condition keys kmsgw evaluates, with their types. A policy naming any other key is refused: a condition that
 * could never be evaluated would silently change what the policy means.
 *
 * <p>Names are case-insensitive, as in AWS, except the encryption context key after
 * {@code kms:EncryptionContext:}, which is compared as written (encryption context keys are case-sensitive).
 */
public final class ConditionKeys {
  /** The value type a key carries, which decides the operators it accepts besides the String ones. */
  public enum Type { STRING, ARN, BOOL, NUMERIC, DATE, IP }

  /** A supported key. */
  public record Key(String name, Type type, boolean multiValued) {}

  public static final String ENCRYPTION_CONTEXT_PREFIX = "kms:encryptioncontext:";

  private static final Map<String, Key> KEYS = Map.ofEntries(
      key("kms:EncryptionContextKeys", Type.STRING, true),
      key("kms:CallerAccount", Type.STRING, false),
      key("kms:ViaService", Type.STRING, false),
      key("kms:GrantOperations", Type.STRING, true),
      key("kms:GrantIsForAWSResource", Type.BOOL, false),
      key("kms:GranteePrincipal", Type.STRING, false),
      key("kms:RetiringPrincipal", Type.STRING, false),
      key("kms:GrantConstraintType", Type.STRING, false),
      key("kms:KeySpec", Type.STRING, false),
      key("kms:KeyUsage", Type.STRING, false),
      key("kms:KeyOrigin", Type.STRING, false),
      key("kms:EncryptionAlgorithm", Type.STRING, false),
      // the asymmetric and HMAC operations' algorithm keys (issue #17)
      key("kms:SigningAlgorithm", Type.STRING, false),
      key("kms:MessageType", Type.STRING, false),
      key("kms:MacAlgorithm", Type.STRING, false),
      key("kms:KeyAgreementAlgorithm", Type.STRING, false),
      key("kms:DataKeyPairSpec", Type.STRING, false),
      key("kms:RequestAlias", Type.STRING, false),
      key("kms:ResourceAliases", Type.STRING, true),
      key("kms:BypassPolicyLockoutSafetyCheck", Type.BOOL, false),
      key("aws:PrincipalArn", Type.ARN, false),
      key("aws:PrincipalAccount", Type.STRING, false),
      key("aws:PrincipalType", Type.STRING, false),
      key("aws:SourceIp", Type.IP, false),
      key("aws:CurrentTime", Type.DATE, false),
      key("aws:EpochTime", Type.DATE, false),
      key("aws:SecureTransport", Type.BOOL, false),
      key("aws:RequestedRegion", Type.STRING, false),
      key("sts:ExternalId", Type.STRING, false),
      key("sts:RoleSessionName", Type.STRING, false),
      // the XKS API's requestMetadata, for the optional secondary authorization of XKS endpoints (docs/xks.md)
      key("xks:AwsPrincipalArn", Type.ARN, false),
      key("xks:AwsSourceVpc", Type.STRING, false),
      key("xks:AwsSourceVpce", Type.STRING, false),
      key("xks:KmsKeyArn", Type.ARN, false),
      key("xks:KmsOperation", Type.STRING, false),
      key("xks:KmsViaService", Type.STRING, false),
      key("xks:ExternalKeyId", Type.STRING, false));

  private ConditionKeys() {}

  private static Map.Entry<String, Key> key(String name, Type type, boolean multi) {
    return Map.entry(name.toLowerCase(Locale.ROOT), new Key(name, type, multi));
  }

  /**
   * The key as the request context stores it: lower case, except the encryption context key's own name. Empty if
   * kmsgw does not support the key.
   */
  public static Optional<Key> find(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    if (lower.startsWith(ENCRYPTION_CONTEXT_PREFIX) && name.length() > ENCRYPTION_CONTEXT_PREFIX.length()) {
      return Optional.of(new Key(canonical(name), Type.STRING, false));
    }
    return Optional.ofNullable(KEYS.get(lower)).map(k -> new Key(lower, k.type(), k.multiValued()));
  }

  /** The canonical form of a key name, under which request contexts hold its values. */
  public static String canonical(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    if (lower.startsWith(ENCRYPTION_CONTEXT_PREFIX)) {
      return ENCRYPTION_CONTEXT_PREFIX + name.substring(ENCRYPTION_CONTEXT_PREFIX.length());
    }
    return lower;
  }
}
