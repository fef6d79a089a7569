package io.kmsgw.iam;

import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.policy.IdentityPolicies;
import io.kmsgw.policy.PolicyEvaluator;
import io.kmsgw.policy.Principal;
import io.kmsgw.policy.RequestContext;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Input checks with the constraints of the IAM and STS models (iam-service-2.json, sts-service-2.json), in their
 * ValidationError wording, and the authorization of IAM and STS actions by identity policies.
 */
final class Checks {
  static final Pattern NAME = Pattern.compile("[\\w+=,.@-]+");
  static final Pattern PATH = Pattern.compile("(/)|(/[\\u0021-\\u007E]+/)");
  static final Pattern PATH_PREFIX = Pattern.compile("/[\\u0021-\\u007F]*");
  static final Pattern POLICY_TEXT = Pattern.compile("[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
  static final Pattern DESCRIPTION = Pattern.compile("[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*");
  static final Pattern ACCESS_KEY_ID = Pattern.compile("\\w+");
  static final Pattern SESSION_NAME = Pattern.compile("[\\w+=,.@-]*");
  static final Pattern EXTERNAL_ID = Pattern.compile("[\\w+=,.@:/-]*");

  private Checks() {}

  static KmsException invalid(String message) {
    return new KmsException(ErrorCode.VALIDATION, message);
  }

  /** A required string with length bounds and a pattern; the member name as the model spells it. */
  static String string(String member, String value, int min, int max, Pattern pattern) {
    if (value == null) {
      throw invalid("1 validation error detected: Value null at '" + member
          + "' failed to satisfy constraint: Member must not be null");
    }
    return optional(member, value, min, max, pattern);
  }

  /** As {@link #string}, null allowed. */
  static String optional(String member, String value, int min, int max, Pattern pattern) {
    if (value == null) {
      return null;
    }
    if (value.length() < min || value.length() > max) {
      throw invalid("1 validation error detected: Value at '" + member + "' failed to satisfy constraint: Member "
          + "must have length between " + min + " and " + max);
    }
    if (pattern != null && !pattern.matcher(value).matches()) {
      throw invalid("1 validation error detected: Value at '" + member + "' failed to satisfy constraint: Member "
          + "must satisfy regular expression pattern: " + pattern.pattern());
    }
    return value;
  }

  static Integer integer(String member, Integer value, int min, int max) {
    if (value != null && (value < min || value > max)) {
      throw invalid("1 validation error detected: Value '" + value + "' at '" + member + "' failed to satisfy "
          + "constraint: Member must have value " + (value < min ? "greater than or equal to " + min
          : "less than or equal to " + max));
    }
    return value;
  }

  /**
   * Allows an action when the caller's identity policies do (an account root may do everything in its account).
   *
   * @throws KmsException AccessDenied with AWS's message otherwise
   */
  static void authorize(IdentityPolicies policies, Clock clock, Caller caller, String action, String resource,
      Consumer<RequestContext.Builder> extra) {
    RequestContext.Builder b = context(clock, caller, action, resource);
    if (extra != null) {
      extra.accept(b);
    }
    RequestContext r = b.build();
    PolicyEvaluator.Outcome outcome = PolicyEvaluator.evaluateIdentity(r, policies.of(caller));
    if (!outcome.allowed()) {
      throw new KmsException(ErrorCode.ACCESS_DENIED, outcome.message(r));
    }
  }

  static RequestContext.Builder context(Clock clock, Caller caller, String action, String resource) {
    Instant now = clock.instant();
    return RequestContext.builder(Principal.of(caller.arn()), action, resource)
        .put("aws:CurrentTime", DateTimeFormatter.ISO_INSTANT.format(now))
        .put("aws:EpochTime", Long.toString(now.getEpochSecond()))
        .put("aws:SourceIp", caller.scope().sourceIp())
        .put("aws:SecureTransport", Boolean.toString(caller.scope().secureTransport()))
        // IAM and STS are global services here: AWS gives their global endpoint's region
        .put("aws:RequestedRegion", "us-east-1");
  }
}
