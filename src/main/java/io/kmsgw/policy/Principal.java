package io.kmsgw.policy;

/**
 * The caller as policies see it: its ARN, its account, what kind of principal it is and, for a role session, the
 * role. A key policy naming the role matches every session of it.
 */
public record Principal(String arn, String account, Kind kind, String roleArn) {
  /** Kinds of principal, with the value of {@code aws:PrincipalType}. */
  public enum Kind {
    ROOT("Account"), USER("User"), ASSUMED_ROLE("AssumedRole"), SERVICE("AWSService");

    final String principalType;

    Kind(String principalType) {
      this.principalType = principalType;
    }
  }

  /**
   * The principal for an ARN: {@code arn:aws:iam::<account>:root}, {@code ...:user/...}, or
   * {@code arn:aws:sts::<account>:assumed-role/<role>/<session>} (the role without its path; give the role's ARN
   * with {@link #assumedRole} where it is known).
   */
  public static Principal of(String arn) {
    String[] p = arn.split(":", 6);
    if (p.length != 6) {
      return new Principal(arn, "", Kind.SERVICE, null);
    }
    String account = p[4];
    String resource = p[5];
    if (p[2].equals("iam") && resource.equals("root")) {
      return new Principal(arn, account, Kind.ROOT, null);
    }
    if (p[2].equals("iam") && resource.startsWith("user/")) {
      return new Principal(arn, account, Kind.USER, null);
    }
    if (p[2].equals("sts") && resource.startsWith("assumed-role/")) {
      String[] parts = resource.split("/");
      if (parts.length < 2 || parts[1].isEmpty()) {
        // no role name (client text such as XKS awsPrincipalArn may be anything): a principal no policy names
        return new Principal(arn, account, Kind.SERVICE, null);
      }
      return new Principal(arn, account, Kind.ASSUMED_ROLE, "arn:aws:iam::" + account + ":role/" + parts[1]);
    }
    return new Principal(arn, account, Kind.SERVICE, null);
  }

  public static Principal assumedRole(String sessionArn, String account, String roleArn) {
    return new Principal(sessionArn, account, Kind.ASSUMED_ROLE, roleArn);
  }

  public static String rootArn(String account) {
    return "arn:aws:iam::" + account + ":root";
  }

  /** This principal's account root ARN. */
  public String accountRoot() {
    return rootArn(account);
  }

  /** Whether a policy's AWS principal (normalised ARN) names this caller itself, not only its account. */
  boolean namedBy(String policyArn) {
    return policyArn.equals(arn) || (roleArn != null && policyArn.equals(roleArn));
  }

  /** The value of {@code aws:PrincipalArn}: the role's ARN for a role session, else the caller's. */
  public String principalArn() {
    return roleArn != null ? roleArn : arn;
  }
}
