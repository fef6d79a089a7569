package io.kmsgw.policy;

import java.util.List;
import java.util.Set;

/**
 * A parsed, validated policy: a key policy, an IAM identity policy or a role's trust policy. Immutable; parse once
 * ({@link PolicyParser}) and evaluate many times ({@link PolicyEvaluator}).
 *
 * @param source the document as submitted, returned unchanged by GetKeyPolicy
 */
public record PolicyDocument(String version, List<Statement> statements, String source) {
  public PolicyDocument {
    statements = List.copyOf(statements);
  }

  /** Whether any statement has a condition on this key (canonical name); lets callers skip costly keys. */
  public boolean mentions(String canonicalKey) {
    for (Statement s : statements) {
      for (Condition c : s.conditions()) {
        if (c.key().equals(canonicalKey)) {
          return true;
        }
      }
    }
    return false;
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
