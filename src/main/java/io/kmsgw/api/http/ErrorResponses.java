package io.kmsgw.api.http;

import io.kmsgw.api.kms.JsonResponse;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes AWS-shaped errors: the JSON protocol's {@code {"__type": name, "message": text}} with the code's HTTP status
 * (KMS, CloudTrail), and the Query protocol's XML {@code ErrorResponse} (IAM, STS; names and statuses in
 * {@link io.kmsgw.api.iam.QueryErrors}).
 */
final class ErrorResponses {
  static final String CONTENT_TYPE = "application/x-amz-json-1.1";

  private ErrorResponses() {}

  /** Writes the error unless an answer was already sent; the future completes when it is written. */
  static Future<Void> write(HttpServerResponse response, KmsException e) {
    if (response.ended() || response.closed()) {
      return Future.succeededFuture();
    }
    ErrorCode code = e.code();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("__type", code.awsName());
    body.put("message", e.getMessage());
    return response.setStatusCode(code.httpStatus())
        .putHeader("Content-Type", CONTENT_TYPE)
        .putHeader("x-amzn-ErrorType", code.awsName())
        .end(Buffer.buffer(JsonResponse.write(body)));
  }

  /** Writes the error in IAM's or STS's XML unless an answer was already sent; the future completes when written. */
  static Future<Void> writeQuery(HttpServerResponse response, io.kmsgw.api.iam.QueryApi.Service service,
      KmsException e, String requestId) {
    if (response.ended() || response.closed()) {
      return Future.succeededFuture();
    }
    io.kmsgw.api.iam.QueryErrors.Rendered r = io.kmsgw.api.iam.QueryApi.error(service, e, requestId);
    return response.setStatusCode(r.status()).putHeader("Content-Type", "text/xml").end(Buffer.buffer(r.xml()));
  }
}
