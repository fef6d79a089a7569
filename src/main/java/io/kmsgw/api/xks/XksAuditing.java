package io.kmsgw.api.xks;

import io.kmsgw.api.http.GatewayHttpServer;
import io.kmsgw.api.kms.JsonResponse;
import io.kmsgw.domain.Caller;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * What the XKS API knows of a request for its audit event, gathered on the request's routing context as the request
 * goes (who signed, the request metadata, which gateway key), and the answer held back until the event is durable.
 */
final class XksAuditing {
  private static final Logger LOG = Logger.getLogger(XksAuditing.class.getName());
  private static final String CALLER = "kmsgw.xks.caller";
  private static final String REQUEST = "kmsgw.xks.request";
  private static final String KEY_ARN = "kmsgw.xks.keyArn";
  private static final String AUDITED = "kmsgw.xks.audited";
  private static final int MAX_USER_AGENT = 1024;

  private final XksAudit audit;

  /** @param audit where events go; null records nothing */
  XksAuditing(XksAudit audit) {
    this.audit = audit;
  }

  void signedBy(RoutingContext ctx, Caller caller) {
    ctx.put(CALLER, caller);
  }

  /** The request's parameters as far as they are known: the endpoint, the external key id and the metadata. */
  void request(RoutingContext ctx, XksEndpoint endpoint, String externalKeyId, XksRequest.Metadata md) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("XksEndpoint", endpoint.name());
    put(r, "ExternalKeyId", externalKeyId);
    put(r, "KmsRequestId", md.kmsRequestId());
    put(r, "KmsOperation", md.kmsOperation());
    put(r, "AwsPrincipalArn", md.awsPrincipalArn());
    put(r, "KmsKeyArn", md.kmsKeyArn());
    put(r, "KmsViaService", md.kmsViaService());
    put(r, "AwsSourceVpc", md.awsSourceVpc());
    put(r, "AwsSourceVpce", md.awsSourceVpce());
    ctx.put(REQUEST, r);
  }

  private static void put(Map<String, Object> r, String name, String value) {
    if (value != null) {
      // client text: bounded, as the log line bounds it
      r.put(name, value.length() > 2048 ? value.substring(0, 2048) : value);
    }
  }

  /** Where the operations layer reports the gateway key it resolved the external key id to. */
  Consumer<String> keyArn(RoutingContext ctx) {
    AtomicReference<String> arn = new AtomicReference<>();
    ctx.put(KEY_ARN, arn);
    return arn::set;
  }

  /**
   * Answers once the request's event is durable: {@code respond} on success, else an InternalException, since
   * no answer leaves that the trail does not hold.
   *
   * @param error the error answered, or null on success
   */
  void answer(RoutingContext ctx, String operation, XksException error, Runnable respond) {
    if (audit == null || ctx.get(AUDITED) != null) {
      respond.run();
      return;
    }
    ctx.put(AUDITED, Boolean.TRUE);
    AtomicReference<String> arn = ctx.get(KEY_ARN);
    String userAgent = ctx.request().getHeader("User-Agent");
    XksAudit.XksCall call = new XksAudit.XksCall(ctx.response().headers().get("x-amzn-RequestId"), operation,
        ctx.get(CALLER), ctx.request().remoteAddress() == null ? null : ctx.request().remoteAddress().hostAddress(),
        userAgent == null || userAgent.length() <= MAX_USER_AGENT ? userAgent : userAgent.substring(0, MAX_USER_AGENT),
        ctx.get(REQUEST), arn == null ? null : arn.get(), error == null ? null : error.code().errorName(),
        error == null ? null : error.getMessage());
    CompletionStage<Void> recorded;
    try {
      recorded = audit.record(call);
    } catch (RuntimeException e) {
      recorded = CompletableFuture.failedFuture(e);
    }
    Future.fromCompletionStage(recorded, ctx.vertx().getOrCreateContext()).onComplete(ar -> {
      if (ar.succeeded()) {
        respond.run();
        return;
      }
      LOG.severe(() -> "XKS request " + call.requestId() + ": the audit trail could not record " + operation + ": "
          + ar.cause().getMessage());
      GatewayHttpServer.failed(ctx, XksErrorCode.INTERNAL.errorName());
      if (!ctx.response().ended() && !ctx.response().closed()) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("errorName", XksErrorCode.INTERNAL.errorName());
        body.put("errorMessage", "The request could not be recorded in the audit trail, so its answer is withheld. "
            + "Request id " + call.requestId() + ".");
        ctx.response().setStatusCode(XksErrorCode.INTERNAL.httpStatus()).putHeader("Content-Type", "application/json")
            .end(Buffer.buffer(JsonResponse.write(body)));
      }
    });
  }
}
