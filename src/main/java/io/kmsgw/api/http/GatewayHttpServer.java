package io.kmsgw.api.http;

import io.kmsgw.api.iam.QueryApi;
import io.kmsgw.api.kms.JsonResponse;
import io.kmsgw.api.kms.KmsApi;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.model.FailedValues;
import io.kmsgw.auth.SigV4Verifier;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP front: request ids, body limits, SigV4, the KMS JSON API on {@code POST /}, the health check on
 * {@code GET /healthz}, and the one failure handler that writes AWS-shaped errors. One instance per event loop;
 * nothing here blocks.
 */
public final class GatewayHttpServer extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(GatewayHttpServer.class.getName());
  private static final String RECORD = "kmsgw.request";
  private static final String QUERY_SERVICE = "kmsgw.query";

  /** Largest request body accepted: a 4 KiB plaintext in base64 with a full context fits many times over. */
  public static final long MAX_BODY_BYTES = 256 * 1024;

  /** Where to listen. {@code tlsCertificate} and {@code tlsKey} are PEM files, or both null for plain HTTP. */
  public record Listen(String host, int port, Path tlsCertificate, Path tlsKey) {}

  /** The health document and whether it means healthy (200) or not (503). */
  public record Health(boolean healthy, Map<String, Object> document) {}

  private final Listen listen;
  private final SigV4Verifier verifier;
  private final KmsApi api;
  private final Supplier<Health> health;
  private final Query query;
  private final java.util.List<java.util.function.Consumer<Router>> mounts = new java.util.ArrayList<>();
  private RequestAudit audit;
  private static final String KMS_ROUTE = "kmsgw.kms";
  private static final String KMS_CALLER = "kmsgw.kms.caller";
  private static final String KMS_CONTEXT = "kmsgw.kms.context";
  private static final String AUDITED = "kmsgw.audited";
  private static final String QUERY_CALLER = "kmsgw.query.caller";
  private java.util.function.Consumer<HttpServerOptions> serverOptions = o -> {};
  private io.kmsgw.api.cloudtrail.CloudTrailApi cloudTrail;
  private HttpServer server;
  private ConnectionGuard connections;
  private HostNames hostNames;

  /**
   * The IAM and STS Query APIs and a verifier for each (signing names {@code iam} and {@code sts}).
   */
  public record Query(QueryApi api, SigV4Verifier iam, SigV4Verifier sts) {
    SigV4Verifier verifier(QueryApi.Service service) {
      return service == QueryApi.Service.STS ? sts : iam;
    }
  }

  public GatewayHttpServer(Listen listen, SigV4Verifier verifier, KmsApi api, Supplier<Health> health) {
    this(listen, verifier, api, health, null);
  }

  /** @param query the IAM and STS APIs, or null to serve KMS alone */
  public GatewayHttpServer(Listen listen, SigV4Verifier verifier, KmsApi api, Supplier<Health> health,
      Query query) {
    this.listen = listen;
    this.verifier = verifier;
    this.api = api;
    this.health = health;
    this.query = query;
  }

  /**
   * Routes of another API (the XKS proxy API) on this listener, mounted after the request record is made and
   * before the KMS routes. Call before deployment.
   */
  public GatewayHttpServer mount(java.util.function.Consumer<Router> routes) {
    mounts.add(routes);
    return this;
  }

  /** Serves CloudTrail's LookupEvents over the audit trail on {@code POST /} too. Call before deployment. */
  public GatewayHttpServer cloudTrail(io.kmsgw.api.cloudtrail.CloudTrailApi trail) {
    this.cloudTrail = trail;
    return this;
  }

  /** Adjusts the listener's options after the TLS defaults (cipher suites, client authentication). */
  public GatewayHttpServer configure(java.util.function.Consumer<HttpServerOptions> options) {
    serverOptions = options;
    return this;
  }

  /**
   * Idle and request deadlines and the connection cap of this listener; one guard is shared by every instance of
   * the listener (the cap counts across event loops). Call before deployment.
   */
  public GatewayHttpServer connections(ConnectionGuard guard) {
    this.connections = guard;
    return this;
  }

  /** Refuses requests to {@code POST /} whose Host is not one of these names. Call before deployment. */
  public GatewayHttpServer hostNames(HostNames names) {
    this.hostNames = names;
    return this;
  }

  /**
   * Fills in the request's log line from routes mounted by other packages; {@code detail} is appended as it is,
   * so it must hold no secret and no unescaped client text.
   */
  public static void describe(RoutingContext ctx, String operation, String caller, String key, String detail) {
    RequestRecord rec = ctx.get(RECORD);
    if (rec != null) {
      rec.operation = operation;
      rec.caller = caller == null ? "-" : caller;
      rec.keyArn = key;
      rec.detail = detail;
    }
  }

  /** Records every KMS call in the audit trail before answering it. */
  public GatewayHttpServer audit(RequestAudit recorder) {
    this.audit = recorder;
    return this;
  }

  /** Records a mounted route's error name in the request's log line. */
  public static void failed(RoutingContext ctx, String errorName) {
    RequestRecord rec = ctx.get(RECORD);
    if (rec != null) {
      rec.error = errorName;
    }
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.route().handler(this::begin);
    mounts.forEach(m -> m.accept(router));
    router.get("/healthz").handler(this::health);
    if (api != null && hostNames != null && hostNames.enabled()) {
      // before the body is read: a request for another host costs no more than its headers
      router.post("/").handler(hostNames);
    }
    if (api != null) {
      router.post("/").handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES)).handler(this::post);
    }
    router.route().handler(ctx -> ctx.fail(new KmsException(ErrorCode.UNKNOWN_OPERATION,
        "No such endpoint: KMS requests are POST / with an X-Amz-Target header.")));
    router.route().failureHandler(this::failure);

    HttpServerOptions options = new HttpServerOptions()
        .setHost(listen.host())
        .setPort(listen.port())
        .setHandle100ContinueAutomatically(true)
        .setCompressionSupported(false);
    if (listen.tlsCertificate() != null) {
      options.setSsl(true)
          .setKeyCertOptions(new PemKeyCertOptions()
              .setCertPath(listen.tlsCertificate().toString())
              .setKeyPath(listen.tlsKey().toString()))
          .removeEnabledSecureTransportProtocol("TLSv1")
          .removeEnabledSecureTransportProtocol("TLSv1.1")
          .addEnabledSecureTransportProtocol("TLSv1.2")
          .addEnabledSecureTransportProtocol("TLSv1.3");
    }
    if (connections != null) {
      connections.apply(options);
    }
    serverOptions.accept(options);
    HttpServer http = vertx.createHttpServer(options).requestHandler(router);
    if (connections != null) {
      http.connectionHandler(connections::accept);
    }
    return http.listen().onSuccess(s -> server = s);
  }

  /** The port actually bound (useful when configured as 0). */
  public int actualPort() {
    return server == null ? -1 : server.actualPort();
  }

  private void begin(RoutingContext ctx) {
    // the connection's own address: RoutingContext's request would run Forwarded-header parsing for nothing
    io.vertx.core.net.SocketAddress remote = ctx.request().connection().remoteAddress();
    RequestRecord rec = new RequestRecord(RequestIds.next(), remote == null ? "-" : remote.hostAddress());
    ctx.put(RECORD, rec);
    ctx.response().putHeader("x-amzn-RequestId", rec.requestId);
    ctx.addEndHandler(v -> rec.log(ctx.response().getStatusCode()));
    ctx.next();
  }

  private void health(RoutingContext ctx) {
    RequestRecord rec = ctx.get(RECORD);
    rec.operation = "healthz";
    Health h = health.get();
    ctx.response()
        .setStatusCode(h.healthy() ? 200 : 503)
        .putHeader("Content-Type", "application/json")
        .end(Buffer.buffer(JsonResponse.write(h.document())));
  }

  /** KMS (JSON, X-Amz-Target) or, by the credential scope's service or a form body, IAM and STS (Query, XML). */
  private void post(RoutingContext ctx) {
    if (cloudTrail != null && io.kmsgw.api.cloudtrail.CloudTrailApi.handles(ctx.request().getHeader("X-Amz-Target"),
        SigV4Verifier.scopeService(ctx.request().getHeader("Authorization")))) {
      cloudTrail(ctx);
      return;
    }
    if (query != null) {
      QueryApi.Service service = QueryApi.Service.bySigningName(
          SigV4Verifier.scopeService(ctx.request().getHeader("Authorization")));
      String contentType = ctx.request().getHeader("Content-Type");
      if (service == null && ctx.request().getHeader("X-Amz-Target") == null && contentType != null
          && contentType.toLowerCase(java.util.Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
        service = QueryApi.guessService(body(ctx));
      }
      if (service != null) {
        query(ctx, service);
        return;
      }
    }
    kms(ctx);
  }

  private static byte[] body(RoutingContext ctx) {
    return ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
  }

  private void query(RoutingContext ctx, QueryApi.Service service) {
    RequestRecord rec = ctx.get(RECORD);
    ctx.put(QUERY_SERVICE, service);
    byte[] body = body(ctx);
    rec.operation = service.signingName + ":" + QueryApi.actionOf(body);
    Caller caller = query.verifier(service).verify(new VertxSignedRequest(ctx, body));
    rec.caller = caller.arn();
    Caller scoped = caller.in(new Caller.Scope("-".equals(rec.source) ? null : rec.source, null, null,
        ctx.request().isSSL()));
    ctx.put(QUERY_CALLER, scoped);
    Future.fromCompletionStage(query.api().invoke(service, scoped, body, rec.requestId),
        ctx.vertx().getOrCreateContext()).onComplete(ar -> {
          if (ar.succeeded()) {
            Buffer out = Buffer.buffer(ar.result());
            audited(ctx, queryCall(ctx, rec, service, null), () -> ctx.response()
                .putHeader("Content-Type", "text/xml").end(out));
          } else {
            ctx.fail(ar.cause());
          }
        });
  }

  /** CloudTrail (JSON, X-Amz-Target): LookupEvents; its errors take the KMS API's JSON shape in failure(). */
  private void cloudTrail(RoutingContext ctx) {
    RequestRecord rec = ctx.get(RECORD);
    byte[] body = body(ctx);
    Caller caller = cloudTrail.verifier().verify(new VertxSignedRequest(ctx, body));
    rec.caller = caller.arn();
    rec.operation = "cloudtrail:" + cloudTrail.operationName(ctx.request().getHeader("X-Amz-Target"));
    Caller scoped = caller.in(new Caller.Scope("-".equals(rec.source) ? null : rec.source, null, null,
        ctx.request().isSSL()));
    Future.fromCompletionStage(cloudTrail.lookupEvents(scoped, body), ctx.vertx().getOrCreateContext())
        .onComplete(ar -> {
          if (ar.succeeded()) {
            ctx.response()
                .putHeader("Content-Type", ErrorResponses.CONTENT_TYPE)
                .end(Buffer.buffer(JsonResponse.write(ar.result())));
          } else {
            ctx.fail(ar.cause());
          }
        });
  }

  private void kms(RoutingContext ctx) {
    RequestRecord rec = ctx.get(RECORD);
    ctx.put(KMS_ROUTE, Boolean.TRUE);
    byte[] body = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
    Caller caller = verifier.verify(new VertxSignedRequest(ctx, body));
    ctx.put(KMS_CALLER, caller);
    rec.caller = caller.arn();
    String operation = api.operationName(ctx.request().getHeader("X-Amz-Target"));
    rec.operation = operation;
    OperationContext oc = KmsApi.context(rec.requestId, operation,
        caller.in(new Caller.Scope("-".equals(rec.source) ? null : rec.source, null, null, ctx.request().isSSL())));
    ctx.put(KMS_CONTEXT, oc);
    String userAgent = ctx.request().getHeader("User-Agent");
    // a success is recorded where the operation completes (an HSM worker), so the answer needs one hop back to the
    // event loop, not two; the event loop only writes the response
    java.util.concurrent.CompletionStage<java.util.Map<String, Object>> done = api.invoke(oc, body);
    if (audit != null) {
      ctx.put(AUDITED, Boolean.TRUE);
      done = done.thenCompose(result -> record(kmsCall(rec, operation, oc, oc.caller(), userAgent, result, null))
          .handle((v, t) -> {
            if (t != null) {
              throw new NotRecorded(t);
            }
            return result;
          }));
    }
    Future.fromCompletionStage(done, ctx.vertx().getOrCreateContext()).onComplete(ar -> {
      rec.keyArn = oc.keyArn();
      if (ar.succeeded()) {
        ctx.response()
            .putHeader("Content-Type", ErrorResponses.CONTENT_TYPE)
            .end(Buffer.buffer(JsonResponse.write(ar.result())));
        return;
      }
      Throwable t = ar.cause();
      while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
        t = t.getCause();
      }
      if (t instanceof NotRecorded nr) {
        notRecorded(ctx, rec.requestId, operation, nr.getCause());
      } else {
        // the operation failed: the failure handler records the error it answers
        ctx.remove(AUDITED);
        ctx.fail(ar.cause());
      }
    });
  }

  /** An operation that succeeded but whose audit event could not be written. */
  private static final class NotRecorded extends RuntimeException {
    NotRecorded(Throwable cause) {
      super(cause);
    }
  }

  /** The audit record of a KMS call, from what the request got to before it ended. */
  private RequestAudit.Call call(RoutingContext ctx, RequestRecord rec, String operation,
      java.util.Map<String, Object> response, KmsException error) {
    OperationContext oc = ctx.get(KMS_CONTEXT);
    return kmsCall(rec, operation, oc, oc != null ? oc.caller() : ctx.get(KMS_CALLER),
        ctx.request().getHeader("User-Agent"), response, error);
  }

  /** The audit record of a KMS call from its parts (no routing context: also built off the event loop). */
  private static RequestAudit.Call kmsCall(RequestRecord rec, String operation, OperationContext oc, Caller caller,
      String userAgent, java.util.Map<String, Object> response, KmsException error) {
    return new RequestAudit.Call(rec.requestId, operation, caller, "-".equals(rec.source) ? null : rec.source,
        userAgent, oc == null ? null : oc.request(), response, error, oc == null ? null : oc.keyArn(),
        "kms.amazonaws.com");
  }

  /** Hands a call to the audit trail; a recorder that throws counts as a record that could not be written. */
  private java.util.concurrent.CompletionStage<Void> record(RequestAudit.Call call) {
    try {
      return audit.record(call);
    } catch (RuntimeException e) {
      return java.util.concurrent.CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Answers once the call's audit event is durable. If it cannot be recorded, the answer is an internal error:
   * nothing is acknowledged that the audit trail does not hold (the operation itself may have taken effect).
   */
  private void audited(RoutingContext ctx, RequestAudit.Call call, Runnable respond) {
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
   * that the audit trail does not hold (the operation itself may have taken effect).
   */
  private void notRecorded(RoutingContext ctx, String requestId, String operation, Throwable cause) {
    RequestRecord rec = ctx.get(RECORD);
    LOG.severe(() -> "request " + requestId + ": the audit trail could not record " + operation + ": "
        + cause.getMessage());
    if (rec != null) {
      rec.error = ErrorCode.KMS_INTERNAL.awsName();
    }
    if (!ctx.response().ended() && !ctx.response().closed()) {
      ErrorResponses.write(ctx.response(), KmsException.internal("The request could not be recorded in the audit "
          + "trail, so it is not acknowledged; it may have taken effect. Request id " + requestId + ".", cause));
    }
  }

  /** The audit record of an IAM or STS call: the action, its allowlisted parameters, the outcome (no response). */
  private RequestAudit.Call queryCall(RoutingContext ctx, RequestRecord rec, QueryApi.Service service,
      KmsException error) {
    String action = QueryApi.actionOf(body(ctx));
    java.util.Map<String, String> form = QueryApi.form(body(ctx));
    java.util.Map<String, Object> request = form == null ? null : new java.util.LinkedHashMap<>(form);
    if (request != null) {
      request.remove("Action");
      request.remove("Version");
      // IAM and STS checks do not say which parameter failed: all of them are kept as length and HMAC only
      if (error != null && (error.code() == ErrorCode.VALIDATION || error.code() == ErrorCode.SERIALIZATION)) {
        request = FailedValues.redactAll(request);
      }
    }
    return new RequestAudit.Call(rec.requestId, action, ctx.get(QUERY_CALLER), "-".equals(rec.source) ? null
        : rec.source, ctx.request().getHeader("User-Agent"), request, null, error, null,
        service.signingName + ".amazonaws.com");
  }

  /** The KMS operation a failed request named, if its X-Amz-Target names one; else null. */
  private String operationOf(RoutingContext ctx) {
    OperationContext oc = ctx.get(KMS_CONTEXT);
    if (oc != null) {
      return oc.operation();
    }
    try {
      return api.operationName(ctx.request().getHeader("X-Amz-Target"));
    } catch (KmsException e) {
      return null;
    }
  }

  private void failure(RoutingContext ctx) {
    RequestRecord rec = ctx.get(RECORD);
    Throwable t = ctx.failure();
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    KmsException error;
    if (t instanceof KmsException k) {
      error = k;
    } else if (t == null && ctx.statusCode() == 413) {
      error = new KmsException(ErrorCode.REQUEST_ENTITY_TOO_LARGE,
          "The request body is larger than " + MAX_BODY_BYTES + " bytes.");
    } else if (t == null && ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
      error = new KmsException(ErrorCode.SERIALIZATION, "The request could not be read.");
    } else {
      String id = rec == null ? "-" : rec.requestId;
      LOG.log(Level.SEVERE, "request " + id + ": internal error", t);
      error = KmsException.internal("An internal error occurred. Request id " + id + ".", t);
    }
    if (error.code().httpStatus() >= 500 && error.getCause() != null) {
      String id = rec == null ? "-" : rec.requestId;
      KmsException e = error;
      LOG.warning(() -> "request " + id + ": " + e.code().awsName() + ": " + e.getCause().getMessage());
    }
    QueryApi.Service service = ctx.get(QUERY_SERVICE);
    if (service != null) {
      io.kmsgw.api.iam.QueryErrors.Rendered r = QueryApi.error(service, error, rec == null ? "-" : rec.requestId);
      if (rec != null) {
        rec.error = r.code();
      }
      Runnable respond = () -> {
        if (!ctx.response().ended() && !ctx.response().closed()) {
          ctx.response().setStatusCode(r.status()).putHeader("Content-Type", "text/xml")
              .end(Buffer.buffer(r.xml()));
        }
      };
      if (rec != null && ctx.get(AUDITED) == null && !"-".equals(QueryApi.actionOf(body(ctx)))) {
        audited(ctx, queryCall(ctx, rec, service, error), respond);
      } else {
        respond.run();
      }
      return;
    }
    if (rec != null) {
      rec.error = error.code().awsName();
    }
    KmsException answer = error;
    String operation = ctx.get(KMS_ROUTE) != null && ctx.get(AUDITED) == null ? operationOf(ctx) : null;
    if (operation != null && rec != null) {
      // refused and failed calls are recorded too (a target naming no KMS operation is not an API call)
      audited(ctx, call(ctx, rec, operation, null, answer), () -> ErrorResponses.write(ctx.response(), answer));
      return;
    }
    ErrorResponses.write(ctx.response(), error);
  }
}
