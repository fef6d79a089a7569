package io.kmsgw.api.http;

import io.kmsgw.api.iam.QueryApi;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.model.FailedValues;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.log.Throttle;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.logging.Logger;

/**
 * Answers that wait for their audit record: nothing is acknowledged that the audit trail does not hold. Builds the
 * record of a KMS call and of an IAM or STS call, hands it to the trail, and answers an internal error (in the
 * request's API shape) when it cannot be written; the operation itself may have taken effect.
 */
final class AuditedAnswers {
  private static final Logger LOG = Logger.getLogger(GatewayHttpServer.class.getName());
  /** Set once a request's audit record is under way, so the failure handler does not record it twice. */
  static final String AUDITED = "kmsgw.audited";
  /** At most one SEVERE line a minute for unrecorded answers: each one also has its request log line. */
  private static final Throttle SEVERE_LINES = new Throttle(60_000_000_000L);

  /** An operation that succeeded but whose audit event could not be written. */
  static final class NotRecorded extends RuntimeException {
    NotRecorded(Throwable cause) {
      super(cause);
    }
  }

  private final RequestAudit audit;

  /** @param audit the trail, or null to answer without recording */
  AuditedAnswers(RequestAudit audit) {
    this.audit = audit;
  }

  boolean on() {
    return audit != null;
  }

  /** Hands a call to the audit trail; a recorder that throws counts as a record that could not be written. */
  CompletionStage<Void> record(RequestAudit.Call call) {
    try {
      return audit.record(call);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Answers once the call's audit event is durable. If it cannot be recorded, the answer is an internal error:
   * nothing is acknowledged that the audit trail does not hold (the operation itself may have taken effect).
   */
  void answer(RoutingContext ctx, RequestAudit.Call call, Runnable respond) {
    if (audit == null) {
      respond.run();
      return;
    }
    ctx.put(AUDITED, Boolean.TRUE);
    Future.fromCompletionStage(record(call), ctx.vertx().getOrCreateContext()).onComplete(ar -> {
      if (ar.succeeded()) {
        respond.run();
        return;
      }
      notRecorded(ctx, call.requestId(), call.operation(), ar.cause());
    });
  }

  /**
   * The answer for a call whose audit event could not be written: an internal error, since nothing is acknowledged
   * that the audit trail does not hold (the operation itself may have taken effect); IAM's XML for an IAM or STS call.
   */
  static void notRecorded(RoutingContext ctx, String requestId, String operation, Throwable cause) {
    RequestRecord rec = ctx.get(GatewayHttpServer.RECORD);
    logSevere(requestId, operation, cause);
    KmsException error = KmsException.internal("The request could not be recorded in the audit trail, so it is "
        + "not acknowledged; it may have taken effect. Request id " + requestId + ".", cause);
    QueryApi.Service service = ctx.get(GatewayHttpServer.QUERY_SERVICE);
    if (service != null) {
      if (rec != null) {
        rec.error = QueryApi.error(service, error, requestId).code();
      }
      ErrorResponses.writeQuery(ctx.response(), service, error, requestId);
      return;
    }
    if (rec != null) {
      rec.error = ErrorCode.KMS_INTERNAL.awsName();
    }
    ErrorResponses.write(ctx.response(), error);
  }

  /**
   * The first unrecorded answer is logged at once, then one a minute with the number left unlogged since: a full
   * disk refuses every request, and a SEVERE line per request would flood the log (whose disk may be the same).
   */
  private static void logSevere(String requestId, String operation, Throwable cause) {
    long skipped = SEVERE_LINES.pass();
    if (skipped < 0) {
      return;
    }
    LOG.severe(() -> "request " + requestId + ": the audit trail could not record " + operation + ": "
        + cause.getMessage() + (skipped == 0 ? "" : " (" + skipped + " more such answers since the last of these "
        + "lines; each is in the request log with its error)"));
  }

  /** The audit record of a KMS call from its parts (no routing context: also built off the event loop). */
  static RequestAudit.Call kmsCall(RequestRecord rec, String operation, OperationContext oc, Caller caller,
      String userAgent, Map<String, Object> response, KmsException error) {
    return new RequestAudit.Call(rec.requestId, operation, caller, "-".equals(rec.source) ? null : rec.source,
        userAgent, oc == null ? null : oc.request(), response, error, oc == null ? null : oc.keyArn(),
        "kms.amazonaws.com");
  }

  /** The audit record of an IAM or STS call: the action, its allowlisted parameters, the outcome (no response). */
  static RequestAudit.Call queryCall(RoutingContext ctx, RequestRecord rec, QueryApi.Service service,
      KmsException error) {
    byte[] body = GatewayHttpServer.body(ctx);
    String action = QueryApi.actionOf(body);
    Map<String, String> form = QueryApi.form(body);
    Map<String, Object> request = form == null ? null : new LinkedHashMap<>(form);
    if (request != null) {
      request.remove("Action");
      request.remove("Version");
      // IAM and STS checks do not say which parameter failed: all of them are kept as length and HMAC only
      if (error != null && (error.code() == ErrorCode.VALIDATION || error.code() == ErrorCode.SERIALIZATION)) {
        request = FailedValues.redactAll(request);
      }
    }
    return new RequestAudit.Call(rec.requestId, action, ctx.get(GatewayHttpServer.QUERY_CALLER),
        "-".equals(rec.source) ? null : rec.source, ctx.request().getHeader("User-Agent"), request, null, error, null,
        service.signingName + ".amazonaws.com");
  }
}
