package io.kmsgw.policy;

import java.util.List;
import java.util.Set;

/**
 * A parsed, validated policy: a key policy, an IAM identity policy or a role's trust policy. Immutable; parse once
 * ({@link PolicyParser}) and evaluate many times ({@link PolicyEvaluator}).
 */
public final class PolicyDocument {
  private final String version;
  private final List<Statement> statements;
  private final String source;
  /** Every condition key the statements use (canonical names), so evaluation skips values nobody asks for. */
  private final Set<String> conditionKeys;
  private final boolean usesEncryptionContext;

  public PolicyDocument(String version, List<Statement> statements, String source) {
    this.version = version;
    this.statements = List.copyOf(statements);
    this.source = source;
    Set<String> keys = new java.util.HashSet<>();
    for (Statement st : this.statements) {
      for (Condition c : st.conditions()) {
        keys.add(c.key());
      }
    }
    this.conditionKeys = Set.copyOf(keys);
    this.usesEncryptionContext = keys.stream().anyMatch(k -> k.startsWith(ConditionKeys.ENCRYPTION_CONTEXT_PREFIX)
        || k.equals(ConditionKeys.canonical("kms:EncryptionContextKeys")));
  }

  public String version() {
    return version;
  }

  public List<Statement> statements() {
    return statements;
  }

  /** The document as submitted, returned unchanged by GetKeyPolicy. */
  public String source() {
    return source;
  }

  /** Whether any statement has a condition on this key (canonical name); lets callers skip costly keys. */
  public boolean mentions(String canonicalKey) {
    return conditionKeys.contains(canonicalKey);
  }

  /** Whether any condition looks at the encryption context ({@code kms:EncryptionContext:*} or its keys). */
  public boolean usesEncryptionContext() {
    return usesEncryptionContext;
  }

  /** Whom a statement is about: {@code "*"}, AWS principals (normalised ARNs) and service principals. */
  public record Principals(boolean anyone, Set<String> aws, Set<String> services) {
    public Principals {
      aws = Set.copyOf(aws);
      services = Set.copyOf(services);
    }
  }

  /**
   * One statement. Exactly one of principal/notPrincipal is set for resource policies, neither for identity
   * policies. Patterns keep IAM's wildcards; actions are matched without regard to case.
   */
  public record Statement(
      String sid,
      boolean allow,
      Principals principal,
      Principals notPrincipal,
      List<String> actions,
      boolean notAction,
      List<String> resources,
      boolean notResource,
      List<Condition> conditions) {
    public Statement {
      actions = List.copyOf(actions);
      resources = resources == null ? null : List.copyOf(resources);
      conditions = List.copyOf(conditions);
    }

    /** Whether the statement's Action/NotAction covers the action ({@code kms:Encrypt}). */
    public boolean coversAction(String action) {
      boolean any = false;
      for (String a : actions) {
        if (Wildcards.matches(a, action, true)) {
          any = true;
          break;
        }
      }
      return any != notAction;
    }

    /** Whether Resource/NotResource covers the resource ARN; a statement without either covers everything. */
    public boolean coversResource(String arn) {
      if (resources == null) {
        return true;
      }
      boolean any = false;
      for (String r : resources) {
        if (r.equals("*") || Wildcards.arnMatches(r, arn)) {
          any = true;
          break;
        }
      }
      return any != notResource;
    }

    /** Whether every condition holds for the request. */
    public boolean conditionsHold(RequestContext request) {
      for (Condition c : conditions) {
        if (!c.matches(request.values(c.key()))) {
          return false;
        }
      }
      return true;
    }
  }
}
