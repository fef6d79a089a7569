package io.kmsgw.api.xks;

import io.kmsgw.policy.PolicyDocument;
import io.kmsgw.policy.PolicyEvaluator;
import io.kmsgw.policy.Principal;
import io.kmsgw.policy.RequestContext;
import java.util.List;
import java.util.logging.Logger;

/**
 * The optional secondary authorization of an XKS endpoint (XKS spec, "Authorization"): an IAM-style policy
 * evaluated against the request's requestMetadata. Never applied to GetHealthStatus.
 *
 * <p>The action is {@code xks:GetKeyMetadata}, {@code xks:Encrypt} or {@code xks:Decrypt}; the resource is
 * {@code arn:kmsgw:xks:::key/<externalKeyId>}; the condition keys are {@code xks:AwsPrincipalArn},
 * {@code xks:KmsOperation}, {@code xks:KmsViaService}, {@code xks:KmsKeyArn}, {@code xks:AwsSourceVpc},
 * {@code xks:AwsSourceVpce} and {@code xks:ExternalKeyId}. A deny that applies refuses; otherwise an allow must
 * apply. No policy configured means every authenticated request is allowed.
 */
public final class XksAuthorizer {
  private static final Logger LOG = Logger.getLogger(XksAuthorizer.class.getName());
  private final List<PolicyDocument> policies;

  public XksAuthorizer(List<PolicyDocument> policies) {
    this.policies = List.copyOf(policies);
  }

  public static String resource(String externalKeyId) {
    return "arn:kmsgw:xks:::key/" + externalKeyId;
  }

  void check(String endpoint, String operation, String externalKeyId, XksRequest.Metadata md) {
    if (policies.isEmpty()) {
      return;
    }
    RequestContext r = RequestContext.builder(Principal.of(md.awsPrincipalArn()), "xks:" + operation,
            resource(externalKeyId))
        .put("xks:AwsPrincipalArn", md.awsPrincipalArn())
        .put("xks:KmsOperation", md.kmsOperation())
        .put("xks:KmsViaService", md.kmsViaService())
        .put("xks:KmsKeyArn", md.kmsKeyArn())
        .put("xks:AwsSourceVpc", md.awsSourceVpc())
        .put("xks:AwsSourceVpce", md.awsSourceVpce())
        .put("xks:ExternalKeyId", externalKeyId)
        .build();
    PolicyEvaluator.Outcome outcome = PolicyEvaluator.evaluateStandalone(r, policies);
    if (!outcome.allowed()) {
      // XKS spec: log enough to find what in the policy refused the request
      LOG.info(() -> "XKS endpoint " + endpoint + ": access denied (" + outcome + ") for xks:" + operation + " on "
          + XksApi.safe(externalKeyId) + ", principal " + XksApi.safe(md.awsPrincipalArn()) + ", kmsOperation "
          + XksApi.safe(md.kmsOperation()) + ", kmsViaService " + XksApi.safe(md.kmsViaService()) + ", kmsRequestId "
          + XksApi.safe(md.kmsRequestId()));
      throw new XksException(XksErrorCode.ACCESS_DENIED, outcome == PolicyEvaluator.Outcome.EXPLICIT_DENY_IDENTITY
          ? "The XKS endpoint's policy explicitly denies xks:" + operation + " for this request."
          : "No statement of the XKS endpoint's policy allows xks:" + operation + " for this request.");
    }
  }
}
