package io.kmsgw.domain;

import java.util.List;

/**
 * Who made a request, as established by the signature check: the IAM principal ARN, its account, and the
 * access key id that signed; plus what the request itself says about where it comes from ({@link Scope}), for
 * policy conditions. Never holds a secret.
 *
 * @param type CloudTrail's userIdentity type: {@code Root}, {@code IAMUser}, {@code AssumedRole}, {@code AWSService}
 */
public record Caller(String arn, String accountId, String principalId, String accessKeyId, String type, Scope scope) {
  /**
   * Request facts that policies and grants look at.
   *
   * @param sourceIp the connection's peer address (aws:SourceIp), or null
   * @param requestAlias the alias the request named as KeyId ({@code alias/...}), or null (kms:RequestAlias)
   * @param grantTokens the request's GrantTokens
   * @param secureTransport whether the request came over TLS (aws:SecureTransport)
   */
  public record Scope(String sourceIp, String requestAlias, List<String> grantTokens, boolean secureTransport) {
    public static final Scope NONE = new Scope(null, null, List.of(), false);

    public Scope {
      grantTokens = grantTokens == null ? List.of() : List.copyOf(grantTokens);
    }

    public Scope(String sourceIp, String requestAlias, List<String> grantTokens) {
      this(sourceIp, requestAlias, grantTokens, false);
    }
  }

  public Caller {
    scope = scope == null ? Scope.NONE : scope;
  }

  public Caller(String arn, String accountId, String principalId, String accessKeyId, String type) {
    this(arn, accountId, principalId, accessKeyId, type, Scope.NONE);
  }

  /** This caller making a request with these facts. */
  public Caller in(Scope s) {
    return new Caller(arn, accountId, principalId, accessKeyId, type, s);
  }

  /** The caller for work the gateway does by itself (reconciliation, scheduled tasks). */
  public static Caller service(String accountId) {
    return new Caller("kms.amazonaws.com", accountId, "kms.amazonaws.com", "", "AWSService");
  }
}
