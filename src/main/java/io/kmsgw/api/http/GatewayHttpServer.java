package io.kmsgw.api.http;

import io.kmsgw.api.iam.QueryApi;
import io.kmsgw.api.kms.JsonResponse;
import io.kmsgw.api.kms.KmsApi;
import io.kmsgw.api.kms.OperationContext;
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
 * The HTTP front: request ids, body limits, SigV4, the KMS JSON API and the IAM and STS Query APIs on
 * {@code POST /}, the health check ({@link HealthEndpoints}), the answers to HTTP that cannot be read
 * ({@link MalformedRequests}), and the one failure handler that writes AWS-shaped errors. One instance per event
 * loop; nothing here blocks.
 */
public final class GatewayHttpServer extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(GatewayHttpServer.class.getName());
  static final String RECORD = "kmsgw.request";
  static final String QUERY_SERVICE = "kmsgw.query";

  /** Largest request body accepted: a 4 KiB plaintext in base64 with a full context fits many times over. */
  public static final long MAX_BODY_BYTES = 256 * 1024;

  /**
   * Largest form body (IAM and STS, Query protocol): a policy document at the IAM model's maximum of 131,072
   * characters ({@code policyDocumentType}), every character percent-encoded ({@code %XX}, as the SDKs encode
   * JSON punctuation and spaces), with room for the other parameters. The form decoder's limits are set to it too:
   * Vert.x's default of 8 KiB per field refused a 5,748-character policy (issue #15 item 4).
   */
  public static final int MAX_FORM_BODY_BYTES = 3 * 131_072 + 64 * 1024;

  /** The longest request line read (Vert.x's default); longer is answered 414. */
  static final int MAX_INITIAL_LINE_BYTES = 4096;
  /** The most header bytes read (Vert.x's default); more is answered 431. */
  static final int MAX_HEADER_BYTES = 8192;
  /** The most form fields decoded; an IAM call with 50 tags has about 110. */
  static final int MAX_FORM_FIELDS = 1000;

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
  private AuditedAnswers audited;
  private static final String KMS_ROUTE = "kmsgw.kms";
  private static final String KMS_CALLER = "kmsgw.kms.caller";
  private static final String KMS_CONTEXT = "kmsgw.kms.context";
  static final String QUERY_CALLER = "kmsgw.query.caller";
  /** "reading" while the body handler runs, "read" after: a failure while reading is the request's framing. */
  private static final String BODY = "kmsgw.body";
  private java.util.function.Consumer<HttpServerOptions> serverOptions = o -> {};
  private io.kmsgw.api.cloudtrail.CloudTrailApi cloudTrail;
  private HttpServer server;
  private ConnectionGuard connections;
  private HostNames hostNames;
  private HealthEndpoints healthEndpoints;

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

  /**
   * Serves the health details at {@code GET /healthz/detail} to callers signed for this listener's KMS verifier whom
   * {@code access} lets through; without it, {@code /healthz} alone (the status). Call before deployment.
   */
  public GatewayHttpServer healthDetail(HealthEndpoints.Access access) {
    this.healthEndpoints = new HealthEndpoints(health, verifier, access);
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
    audited = new AuditedAnswers(audit);
    Router router = Router.router(vertx);
    router.route().handler(this::begin);
    mounts.forEach(m -> m.accept(router));
    (healthEndpoints != null ? healthEndpoints : new HealthEndpoints(health, null, null)).mount(router);
    if (api != null && hostNames != null && hostNames.enabled()) {
      // before the body is read: a request for another host costs no more than its headers
      router.post("/").handler(hostNames);
    }
    if (api != null) {
      BodyHandler json = BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES);
      BodyHandler form = BodyHandler.create(false).setBodyLimit(MAX_FORM_BODY_BYTES);
      router.post("/").handler(ctx -> {
        ctx.put(BODY, "reading");
        (ctx.get(QUERY_SERVICE) != null ? form : json).handle(ctx);
      }).handler(ctx -> {
        ctx.put(BODY, "read");
        post(ctx);
      });
    }
    router.route().handler(ctx -> ctx.fail(new KmsException(ErrorCode.UNKNOWN_OPERATION,
        "No such endpoint: KMS requests are POST / with an X-Amz-Target header.")));
    router.route().failureHandler(this::failure);

    HttpServerOptions options = new HttpServerOptions()
        .setHost(listen.host())
        .setPort(listen.port())
        .setHandle100ContinueAutomatically(true)
        .setCompressionSupported(false)
        .setMaxInitialLineLength(MAX_INITIAL_LINE_BYTES)
        .setMaxHeaderSize(MAX_HEADER_BYTES)
        // the Query API parses its form itself; Vert.x decodes it as well (BodyHandler asks it to), so its limits
        // must not be below the body's
        .setMaxFormAttributeSize(MAX_FORM_BODY_BYTES)
        .setMaxFormBufferedBytes(MAX_FORM_BODY_BYTES)
        .setMaxFormFields(MAX_FORM_FIELDS);
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
    HttpServer http = vertx.createHttpServer(options)
        .requestHandler(request -> {
          if (!MalformedRequests.missingHost(request)) {
            router.handle(request);
          }
        })
        .invalidRequestHandler(MalformedRequests::invalidHead);
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
    record(ctx);
    if (query != null && ctx.request().method() == io.vertx.core.http.HttpMethod.POST
        && "/".equals(ctx.request().path())) {
      // known from the headers, so that errors before the body is read (too large, malformed) are in IAM's XML
      QueryApi.Service early = MalformedRequests.queryService(ctx.request());
      if (early != null) {
        ctx.put(QUERY_SERVICE, early);
      }
    }
    ctx.next();
  }

  /** The request's record, made on first use; its line is logged when the response has ended. */
  private static RequestRecord record(RoutingContext ctx) {
    RequestRecord existing = ctx.get(RECORD);
    if (existing != null) {
      return existing;
    }
    // the connection's own address: RoutingContext's request would run Forwarded-header parsing for nothing
    io.vertx.core.net.SocketAddress remote = ctx.request().connection().remoteAddress();
    RequestRecord rec = new RequestRecord(RequestIds.next(), remote == null ? "-" : remote.hostAddress());
    ctx.put(RECORD, rec);
    ctx.response().putHeader("x-amzn-RequestId", rec.requestId);
    ctx.addEndHandler(ar -> rec.logWhenEnded(ctx.response(), ar));
    return rec;
  }

  /** KMS (JSON, X-Amz-Target) or, by the credential scope's service or a form body, IAM and STS (Query, XML). */
  private void post(RoutingContext ctx) {
    if (cloudTrail != null && io.kmsgw.api.cloudtrail.CloudTrailApi.handles(ctx.request().getHeader("X-Amz-Target"),
        SigV4Verifier.scopeService(ctx.request().getHeader("Authorization")))) {
      ctx.remove(QUERY_SERVICE);
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

  static byte[] body(RoutingContext ctx) {
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
            audited.answer(ctx, AuditedAnswers.queryCall(ctx, rec, service, null), () -> ctx.response()
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
    if (audited.on()) {
      ctx.put(AuditedAnswers.AUDITED, Boolean.TRUE);
      done = done.thenCompose(result -> audited.record(AuditedAnswers.kmsCall(rec, operation, oc, oc.caller(),
              userAgent, result, null))
          .handle((v, t) -> {
            if (t != null) {
              throw new AuditedAnswers.NotRecorded(t);
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
      if (t instanceof AuditedAnswers.NotRecorded nr) {
        AuditedAnswers.notRecorded(ctx, rec.requestId, operation, nr.getCause());
      } else {
        // the operation failed: the failure handler records the error it answers
        ctx.remove(AuditedAnswers.AUDITED);
        ctx.fail(ar.cause());
      }
    });
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
    // a failure before the first route (none known today) still gets a request id and its log line
    RequestRecord rec = record(ctx);
    Throwable t = ctx.failure();
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    boolean bodyUnread = "reading".equals(ctx.get(BODY));
    KmsException error;
    if (t instanceof KmsException k) {
      error = k;
    } else if (t == null && ctx.statusCode() == 413) {
      error = new KmsException(ErrorCode.REQUEST_ENTITY_TOO_LARGE, "The request body is larger than "
          + (ctx.get(QUERY_SERVICE) != null ? MAX_FORM_BODY_BYTES : MAX_BODY_BYTES) + " bytes.");
    } else if (t != null && bodyUnread) {
      // the body did not arrive as HTTP says it must (a chunk size that is not hex, a form the decoder refuses):
      // the client's error, answered without a stack trace
      error = MalformedRequests.unreadableBody(t);
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
    if (bodyUnread) {
      // what is left of the body cannot be told from a next request: answer, then close (not recorded in the
      // audit trail: the request never arrived whole, so no action was asked for)
      MalformedRequests.write(ctx.request(), rec, error).onComplete(ar -> ctx.request().connection().close());
      return;
    }
    QueryApi.Service service = ctx.get(QUERY_SERVICE);
    if (service != null) {
      rec.error = QueryApi.error(service, error, rec.requestId).code();
      Runnable respond = () -> ErrorResponses.writeQuery(ctx.response(), service, error, rec.requestId);
      if (ctx.get(AuditedAnswers.AUDITED) == null && !"-".equals(QueryApi.actionOf(body(ctx)))) {
        audited.answer(ctx, AuditedAnswers.queryCall(ctx, rec, service, error), respond);
      } else {
        respond.run();
      }
      return;
    }
    rec.error = error.code().awsName();
    KmsException answer = error;
    String operation = ctx.get(KMS_ROUTE) != null && ctx.get(AuditedAnswers.AUDITED) == null ? operationOf(ctx)
        : null;
    if (operation != null) {
      // refused and failed calls are recorded too (a target naming no KMS operation is not an API call)
      OperationContext oc = ctx.get(KMS_CONTEXT);
      audited.answer(ctx, AuditedAnswers.kmsCall(rec, operation, oc, oc != null ? oc.caller() : ctx.get(KMS_CALLER),
          ctx.request().getHeader("User-Agent"), null, answer), () -> ErrorResponses.write(ctx.response(), answer));
      return;
    }
    ErrorResponses.write(ctx.response(), error);
  }
}
