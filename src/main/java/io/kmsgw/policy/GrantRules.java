package io.kmsgw.policy;

import io.kmsgw.domain.Grant;
import io.kmsgw.domain.Grant.Constraints;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Pure decisions about grants: which grant operations a key supports, which operations an encryption context
 * constraint may go with, whether a request's encryption context satisfies a grant's constraints, whether a grant
 * names a caller, and whether a grant that includes CreateGrant covers the grant its grantee asks to create. No I/O.
 *
 * <p>Sources: "Grants in AWS KMS" (grant operations, eventual consistency), "Creating grants" (granting CreateGrant
 * permission), the API reference of CreateGrant and GrantConstraints.
 */
public final class GrantRules {
  /** Operations that take an EncryptionContext on a symmetric encryption key: the ones constraints apply to. */
  public static final Set<String> CONTEXT_OPERATIONS = Set.of("Decrypt", "Encrypt", "GenerateDataKey",
      "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
      "ReEncryptFrom", "ReEncryptTo");

  /**
   * Operations a constrained grant may also include, the constraint not applying to them (GrantConstraints: "Grants
   * with encryption context grant constraints can include the DescribeKey and RetireGrant operations"; CreateGrant
   * carries the constraint over to the grants it creates).
   */
  static final Set<String> CONSTRAINT_NEUTRAL = Set.of("DescribeKey", "RetireGrant", "CreateGrant");

  /** Grant operations every key supports. */
  private static final List<String> COMMON = List.of("CreateGrant", "RetireGrant", "DescribeKey");

  /** AWS KMS: each encryption context constraint has at most 8 pairs ... */
  public static final int MAX_CONSTRAINT_PAIRS = 8;
  /** ... and at most 384 characters (kmsgw counts every key and value of the constraint). */
  public static final int MAX_CONSTRAINT_CHARS = 384;

  private static final Pattern ACCOUNT = Pattern.compile("\\d{12}");
  private static final Pattern NAME = Pattern.compile("[\\w+=,.@-]+");

  private GrantRules() {}

  /**
   * The grant operations a key supports ("Grant operations" in "Grants in AWS KMS"): for a symmetric encryption key
   * the symmetric cryptographic operations (data key pairs included), CreateGrant, RetireGrant and DescribeKey.
   */
  public static Set<String> operationsFor(KeySpec keySpec, KeyUsage keyUsage) {
    Set<String> ops = new LinkedHashSet<>();
    if (keySpec == KeySpec.SYMMETRIC_DEFAULT) {
      ops.addAll(List.of("Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
          "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo"));
    } else if (keyUsage == KeyUsage.ENCRYPT_DECRYPT) {
      ops.addAll(List.of("Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"));
    } else if (keyUsage == KeyUsage.SIGN_VERIFY) {
      ops.addAll(List.of("Sign", "Verify", "GetPublicKey"));
    } else if (keyUsage == KeyUsage.GENERATE_VERIFY_MAC) {
      ops.addAll(List.of("GenerateMac", "VerifyMac"));
    } else if (keyUsage == KeyUsage.KEY_AGREEMENT) {
      ops.addAll(List.of("DeriveSharedSecret", "GetPublicKey"));
    }
    ops.addAll(COMMON);
    return ops;
  }

  /**
   * Checks a CreateGrant request's operations and constraints against the key.
   *
   * @return the operations without duplicates, in the request's order
   * @throws KmsException ValidationException for an empty list, an operation the key does not support, a constraint
   *     on a key or with an operation that takes no encryption context, or a constraint over the limits
   */
  public static List<String> check(KeyRecord key, List<String> operations, Constraints constraints) {
    if (operations.isEmpty()) {
      throw KmsException.validation("Operations must name at least one grant operation.");
    }
    List<String> ops = new ArrayList<>(new LinkedHashSet<>(operations));
    Set<String> supported = operationsFor(key.keySpec(), key.keyUsage());
    List<String> unsupported = ops.stream().filter(op -> !supported.contains(op)).toList();
    if (!unsupported.isEmpty()) {
      throw KmsException.validation("The grant operations " + unsupported + " are not valid for " + key.arn()
          + " (KeySpec " + key.keySpec() + ", KeyUsage " + key.keyUsage() + "); valid ones are " + supported + ".");
    }
    if (!constraints.isEmpty()) {
      if (key.keySpec() != KeySpec.SYMMETRIC_DEFAULT) {
        throw KmsException.validation("Encryption context constraints are only valid on symmetric encryption keys.");
      }
      List<String> refused = ops.stream()
          .filter(op -> !CONTEXT_OPERATIONS.contains(op) && !CONSTRAINT_NEUTRAL.contains(op)).toList();
      if (!refused.isEmpty()) {
        throw KmsException.validation("Encryption context constraints are only valid with grant operations that "
            + "take an encryption context (and DescribeKey, RetireGrant, CreateGrant), not with " + refused + ".");
      }
      checkSize("EncryptionContextEquals", constraints.encryptionContextEquals());
      checkSize("EncryptionContextSubset", constraints.encryptionContextSubset());
    }
    return List.copyOf(ops);
  }

  private static void checkSize(String member, Map<String, String> pairs) {
    if (pairs == null) {
      return;
    }
    if (pairs.size() > MAX_CONSTRAINT_PAIRS) {
      throw KmsException.validation(member + " has " + pairs.size() + " pairs; a constraint may have at most "
          + MAX_CONSTRAINT_PAIRS + ".");
    }
    int chars = 0;
    for (Map.Entry<String, String> e : pairs.entrySet()) {
      chars += e.getKey().length() + e.getValue().length();
    }
    if (chars > MAX_CONSTRAINT_CHARS) {
      throw KmsException.validation(member + " has " + chars + " characters in its keys and values; a constraint "
          + "may have at most " + MAX_CONSTRAINT_CHARS + ".");
    }
  }

  /**
   * Whether a grant's constraints let an operation through with this encryption context. Constraints apply only to
   * operations that take an encryption context. In a constraint the key is not case-sensitive and the value is
   * (GrantConstraints, API reference).
   */
  public static boolean satisfied(Constraints c, String operation, Map<String, String> context) {
    if (c.isEmpty() || !CONTEXT_OPERATIONS.contains(operation)) {
      return true;
    }
    return matches(c, context == null ? Map.of() : context);
  }

  /** Whether an encryption context satisfies both constraints (each when present). */
  public static boolean matches(Constraints c, Map<String, String> context) {
    Map<String, String> equals = c.encryptionContextEquals();
    if (equals != null && !(contains(context, equals) && contains(equals, context))) {
      return false;
    }
    Map<String, String> subset = c.encryptionContextSubset();
    return subset == null || contains(context, subset);
  }

  /** Whether every pair of {@code pairs} is in {@code context}: keys compared ignoring case, values exactly. */
  static boolean contains(Map<String, String> context, Map<String, String> pairs) {
    for (Map.Entry<String, String> p : pairs.entrySet()) {
      if (!hasPair(context, p.getKey(), p.getValue())) {
        return false;
      }
    }
    return true;
  }

  private static boolean hasPair(Map<String, String> context, String key, String value) {
    String exact = context.get(key);
    if (value.equals(exact)) {
      return true;
    }
    for (Map.Entry<String, String> e : context.entrySet()) {
      if (e.getKey().equalsIgnoreCase(key) && e.getValue().equals(value)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a grant that includes CreateGrant lets its grantee create a grant with these operations and constraints
   * ("Granting CreateGrant permission"): the operations must be among the parent's, and every encryption context the
   * new grant would allow must be one the parent allows, i.e. the new constraints are equally strict or stricter.
   */
  public static boolean covers(Grant parent, List<String> operations, Constraints child) {
    if (!parent.operations().contains("CreateGrant") || !parent.operations().containsAll(operations)) {
      return false;
    }
    Constraints p = parent.constraints();
    if (p.isEmpty()) {
      return true;
    }
    if (child.encryptionContextEquals() != null) {
      // the child allows exactly one context (or none, if it cannot satisfy its own subset)
      return matches(p, child.encryptionContextEquals())
          || (child.encryptionContextSubset() != null
              && !contains(child.encryptionContextEquals(), child.encryptionContextSubset()));
    }
    if (child.encryptionContextSubset() != null) {
      // the child allows every context that includes its subset: only a parent subset within it covers them all
      return p.encryptionContextEquals() == null && contains(child.encryptionContextSubset(),
          p.encryptionContextSubset());
    }
    return false;
  }

  /**
   * Checks the form of a grantee or retiring principal: the ARN of an account root, IAM user, IAM role, assumed-role
   * session or federated user.
   *
   * @throws KmsException InvalidArnException otherwise
   */
  public static void checkPrincipal(String member, String arn) {
    if (!validPrincipal(arn)) {
      throw new KmsException(ErrorCode.INVALID_ARN, member + " must be the ARN of an AWS account "
          + "(arn:aws:iam::<account>:root), IAM user, IAM role, assumed role session or federated user.");
    }
  }

  static boolean validPrincipal(String arn) {
    String[] p = arn.split(":", 6);
    if (p.length != 6 || !p[0].equals("arn") || !p[1].equals("aws") || !p[3].isEmpty()
        || !ACCOUNT.matcher(p[4]).matches()) {
      return false;
    }
    String resource = p[5];
    if (p[2].equals("iam")) {
      if (resource.equals("root")) {
        return true;
      }
      return (resource.startsWith("user/") || resource.startsWith("role/")) && pathAndName(resource);
    }
    if (p[2].equals("sts")) {
      String[] parts = resource.split("/", -1);
      return (parts[0].equals("assumed-role") && parts.length == 3 && NAME.matcher(parts[1]).matches()
              && NAME.matcher(parts[2]).matches())
          || (parts[0].equals("federated-user") && parts.length == 2 && NAME.matcher(parts[1]).matches());
    }
    return false;
  }

  /** {@code user/[path/]name}: non-empty segments of IAM name characters. */
  private static boolean pathAndName(String resource) {
    String[] parts = resource.split("/", -1);
    if (parts.length < 2) {
      return false;
    }
    for (int i = 1; i < parts.length; i++) {
      if (!NAME.matcher(parts[i]).matches()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether a grant's principal (grantee or retiring) names the caller: the caller's own ARN, or for a role session
   * the role (a role's sessions carry its name, not its path, so a role ARN is compared without its path).
   */
  public static boolean names(String grantPrincipal, Principal caller) {
    if (grantPrincipal == null) {
      return false;
    }
    if (grantPrincipal.equals(caller.arn())) {
      return true;
    }
    return caller.roleArn() != null && withoutRolePath(grantPrincipal).equals(withoutRolePath(caller.roleArn()));
  }

  /** {@code arn:aws:iam::<account>:role/<path>/<name>} as {@code ...:role/<name>}; other ARNs unchanged. */
  static String withoutRolePath(String arn) {
    int at = arn.indexOf(":role/");
    if (at < 0 || !arn.startsWith("arn:aws:iam::")) {
      return arn;
    }
    int last = arn.lastIndexOf('/');
    return arn.substring(0, at + ":role/".length()) + arn.substring(last + 1);
  }
}
