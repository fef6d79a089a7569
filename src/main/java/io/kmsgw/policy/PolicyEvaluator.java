package io.kmsgw.policy;

import java.util.List;

/**
 * AWS's authorization logic for a request on a resource with a resource policy (a KMS key's key policy, or a role's
 * trust policy for AssumeRole), the caller's identity-based policies, and whether a grant allows it. Pure and
 * allocation-light: it runs on the event loop for every request.
 *
 * <ol>
 *   <li>An explicit {@code Deny} that applies, in the resource policy or an identity policy, refuses.
 *   <li>In the resource's own account: the resource policy allows the caller itself ({@code Principal} names the
 *       caller, its role, or {@code "*"}); or it allows the caller's account root, which delegates to IAM, and an
 *       identity policy of the caller allows. The account root has every IAM permission in its account.
 *   <li>From another account: the resource policy allows the caller or the caller's account, and an identity policy
 *       in the caller's account allows as well (its root excepted).
 *   <li>Otherwise a grant that applies allows.
 * </ol>
 */
public final class PolicyEvaluator {
  /** Outcomes, each with the reason AWS gives in an AccessDeniedException. */
  public enum Outcome {
    ALLOW(null),
    ALLOW_BY_GRANT(null),
    EXPLICIT_DENY_RESOURCE("with an explicit deny in a resource-based policy"),
    EXPLICIT_DENY_IDENTITY("with an explicit deny in an identity-based policy"),
    NO_RESOURCE_ALLOW("because no resource-based policy allows the %s action"),
    NO_IDENTITY_ALLOW("because no identity-based policy allows the %s action");

    private final String reason;

    Outcome(String reason) {
      this.reason = reason;
    }

    public boolean allowed() {
      return reason == null;
    }

    /** AWS's denial message: who, which action, which resource, and why. */
    public String message(RequestContext r) {
      return "User: " + r.principal().arn() + " is not authorized to perform: " + r.action() + " on resource: "
          + r.resource() + " " + String.format(reason, r.action());
    }
  }

  private PolicyEvaluator() {}

  /**
   * @param resourceAccount the account that owns the resource
   * @param resourcePolicy the key policy (or trust policy); null means none
   * @param identityPolicies the caller's identity-based policies (a user's, or the assumed role's)
   * @param grantAllows whether a grant on the resource allows this request
   */
  public static Outcome evaluate(RequestContext r, String resourceAccount, PolicyDocument resourcePolicy,
      List<PolicyDocument> identityPolicies, boolean grantAllows) {
    Principal p = r.principal();
    if (resourcePolicy != null && deniedBy(resourcePolicy, r, true)) {
      return Outcome.EXPLICIT_DENY_RESOURCE;
    }
    boolean isRoot = p.kind() == Principal.Kind.ROOT;
    if (!isRoot) {
      for (PolicyDocument d : identityPolicies) {
        if (deniedBy(d, r, false)) {
          return Outcome.EXPLICIT_DENY_IDENTITY;
        }
      }
    }
    int resourceAllow = resourcePolicy == null ? NONE : resourceAllows(resourcePolicy, r);
    boolean identityAllows = isRoot || identityAllows(identityPolicies, r);
    boolean sameAccount = p.account().equals(resourceAccount);
    if (sameAccount) {
      if (resourceAllow == DIRECT || (resourceAllow == ACCOUNT && identityAllows)) {
        return Outcome.ALLOW;
      }
    } else if (resourceAllow != NONE && identityAllows) {
      return Outcome.ALLOW;
    }
    if (grantAllows) {
      return Outcome.ALLOW_BY_GRANT;
    }
    if (resourceAllow == NONE) {
      return Outcome.NO_RESOURCE_ALLOW;
    }
    return Outcome.NO_IDENTITY_ALLOW;
  }

  /** IAM-only authorization (the IAM and STS APIs on the caller's own account): identity policies alone. */
  public static Outcome evaluateIdentity(RequestContext r, List<PolicyDocument> identityPolicies) {
    if (r.principal().kind() == Principal.Kind.ROOT) {
      return Outcome.ALLOW;
    }
    for (PolicyDocument d : identityPolicies) {
      if (deniedBy(d, r, false)) {
        return Outcome.EXPLICIT_DENY_IDENTITY;
      }
    }
    return identityAllows(identityPolicies, r) ? Outcome.ALLOW : Outcome.NO_IDENTITY_ALLOW;
  }

  /**
   * A set of policies standing alone, with no principal exempt (the XKS endpoints' secondary authorization, where
   * the principal is a KMS caller from another system): an explicit deny refuses, else an allow allows.
   */
  public static Outcome evaluateStandalone(RequestContext r, List<PolicyDocument> policies) {
    for (PolicyDocument d : policies) {
      if (deniedBy(d, r, false)) {
        return Outcome.EXPLICIT_DENY_IDENTITY;
      }
    }
    return identityAllows(policies, r) ? Outcome.ALLOW : Outcome.NO_IDENTITY_ALLOW;
  }

  private static final int NONE = 0;
  /** The resource policy names the caller's account root: IAM must allow too. */
  private static final int ACCOUNT = 1;
  /** The resource policy names the caller itself (or everyone). */
  private static final int DIRECT = 2;

  private static int resourceAllows(PolicyDocument d, RequestContext r) {
    int best = NONE;
    for (PolicyDocument.Statement s : d.statements()) {
      if (!s.allow() || !applies(s, r)) {
        continue;
      }
      int how = principalMatch(s.principal(), r.principal());
      if (how > best && s.conditionsHold(r)) {
        best = how;
        if (best == DIRECT) {
          break;
        }
      }
    }
    return best;
  }

  private static boolean identityAllows(List<PolicyDocument> policies, RequestContext r) {
    for (PolicyDocument d : policies) {
      for (PolicyDocument.Statement s : d.statements()) {
        if (s.allow() && applies(s, r) && s.conditionsHold(r)) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean deniedBy(PolicyDocument d, RequestContext r, boolean resourcePolicy) {
    for (PolicyDocument.Statement s : d.statements()) {
      if (s.allow() || !applies(s, r)) {
        continue;
      }
      boolean principalApplies = !resourcePolicy
          || (s.principal() != null && principalMatch(s.principal(), r.principal()) != NONE)
          || (s.notPrincipal() != null && !exempted(s.notPrincipal(), r.principal()));
      if (principalApplies && s.conditionsHold(r)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a Deny's NotPrincipal exempts the caller. AWS checks every level of the caller: its account, then the
   * user or role, then the role session, and exempts only a caller all of whose levels are listed. Naming the
   * account alone exempts its root, not its users; a role session needs the account, the role and the session.
   */
  private static boolean exempted(PolicyDocument.Principals ps, Principal p) {
    if (ps.anyone()) {
      return true;
    }
    if (p.kind() == Principal.Kind.SERVICE) {
      return ps.services().contains(p.arn());
    }
    if (!ps.aws().contains(p.accountRoot())) {
      return false;
    }
    return switch (p.kind()) {
      case ROOT -> true;
      case USER -> ps.aws().contains(p.arn());
      case ASSUMED_ROLE -> ps.aws().contains(p.roleArn()) && ps.aws().contains(p.arn());
      case SERVICE -> false;
    };
  }

  private static boolean applies(PolicyDocument.Statement s, RequestContext r) {
    return s.coversAction(r.action()) && s.coversResource(r.resource());
  }

  /**
   * How a Principal element matches the caller: DIRECT for {@code "*"}, the caller's own ARN, its role, or its
   * account root when the caller is that root; ACCOUNT for the root of the caller's account; else NONE.
   */
  private static int principalMatch(PolicyDocument.Principals ps, Principal p) {
    if (ps == null) {
      return NONE;
    }
    if (ps.anyone()) {
      return DIRECT;
    }
    if (p.kind() == Principal.Kind.SERVICE) {
      return ps.services().contains(p.arn()) ? DIRECT : NONE;
    }
    int best = NONE;
    for (String arn : ps.aws()) {
      if (p.namedBy(arn)) {
        return DIRECT;
      }
      if (arn.equals(p.accountRoot())) {
        best = ACCOUNT;
      }
    }
    return best;
  }
}
