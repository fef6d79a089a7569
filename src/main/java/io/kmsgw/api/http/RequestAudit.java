package io.kmsgw.api.http;

import io.kmsgw.domain.Caller;
import io.kmsgw.error.KmsException;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Records one API call (KMS, and IAM and STS on the same listener), refused and failed ones included, in the audit trail. The HTTP front answers only once
 * the returned stage completes, so an acknowledged request's event is durable.
 */
@FunctionalInterface
public interface RequestAudit {
  /**
   * @param caller who signed, or null when the signature was refused
   * @param request the parsed request body, or null when it was not parsed
   * @param response the response members on success, else null
   * @param error the error answered, or null on success
   * @param keyArn the key the request used, or null
   * @param eventSource {@code kms.amazonaws.com}, {@code iam.amazonaws.com} or {@code sts.amazonaws.com}
   */
  record Call(String requestId, String operation, Caller caller, String sourceIp, String userAgent,
      Map<String, Object> request, Map<String, Object> response, KmsException error, String keyArn,
      String eventSource) {}

  CompletionStage<Void> record(Call call);
}
