package io.kmsgw.api.xks;

import io.kmsgw.api.http.GatewayHttpServer;
import io.kmsgw.api.http.VertxSignedRequest;
import io.kmsgw.api.kms.JsonResponse;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.ExternalKeyService;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * The AWS XKS proxy API (XKS spec v1.0.3) on {@code POST [/<prefix>]/kms/xks/v1/keys/<externalKeyId>/metadata},
 * {@code .../encrypt}, {@code .../decrypt} and {@code .../health}.
 *
 * <p>Order of checks: the path's prefix names a configured endpoint (else InvalidUriPathException, whatever the
 * signature), the rest names an operation (InvalidUriPathException), the method is POST (405), the SigV4 signature
 * verifies against the endpoint's credentials (AuthenticationFailedException), the body is valid
 * (ValidationException), the endpoint's policy allows it (AccessDeniedException; never for health), then the
 * operation. Every request logs its kmsRequestId, kmsOperation and principal on the request's log line; plaintext
 * is never logged.
 */
public final class XksApi implements Consumer<Router> {
  private static final Logger LOG = Logger.getLogger(XksApi.class.getName());
  static final String API_PATH = "/kms/xks/v1";
  /** Bodies: 64 KiB of data and 64 KiB of AAD in Base64 fit. */
  static final long MAX_BODY_BYTES = 256 * 1024;
  private static final Pattern EXTERNAL_KEY_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  /** What GetHealthStatus says of a key store's HSM. */
  public record EkmInfo(String vendor, String model) {}

  private enum Operation {
    HEALTH("GetHealthStatus"), METADATA("GetKeyMetadata"), ENCRYPT("Encrypt"), DECRYPT("Decrypt");

    final String apiName;

    Operation(String apiName) {
      this.apiName = apiName;
    }
  }

  /**
   * How long a health request waits for the deep check: well under the 250 ms after which KMS gives up on any
   * XKS call (XKS spec, GetHealthStatus), so KMS always gets an answer.
   */
  static final Duration HEALTH_ANSWER_TIMEOUT = Duration.ofMillis(150);
  /** A deep check still running after this long is taken as hung: UNAVAILABLE, and a later request may retry. */
  static final Duration PROBE_ABANDON_AFTER = Duration.ofSeconds(2);
  private static final String STILL_RUNNING = "the round trip is still running";

  private final Map<String, XksEndpoint> byPrefix = new LinkedHashMap<>();
  private final ExternalKeyService keys;
  private final Function<String, CompletableFuture<ExternalKeyService.Probe>> prober;
  private final long answerTimeoutNanos;
  private final long abandonAfterNanos;
  private final Function<String, EkmInfo> ekm;
  private final int fleetSize;
  private final long healthCacheNanos;
  private final String model;
  private final ConcurrentHashMap<String, InFlight> inFlight = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, CachedProbe> probes = new ConcurrentHashMap<>();
  private XksAuditing auditing = new XksAuditing(null);

  private record CachedProbe(ExternalKeyService.Probe probe, long at) {}

  /** A deep check under way, and when it started. */
  private record InFlight(CompletableFuture<ExternalKeyService.Probe> future, long startedAt) {}

  /**
   * @param healthCache how long a deep health check's result is reused (XKS spec: at most one minute)
   */
  /** The endpoint with this configured name, if any. */
  public java.util.Optional<XksEndpoint> endpoint(String name) {
    return byPrefix.values().stream().filter(e -> e.name().equals(name)).findFirst();
  }

  public XksApi(List<XksEndpoint> endpoints, ExternalKeyService keys, Function<String, EkmInfo> ekm, int fleetSize,
      Duration healthCache) {
    this(endpoints, keys, keys::probe, ekm, fleetSize, healthCache, HEALTH_ANSWER_TIMEOUT, PROBE_ABANDON_AFTER);
  }

  /** With the deep check and its time limits given (tests). */
  XksApi(List<XksEndpoint> endpoints, ExternalKeyService keys,
      Function<String, CompletableFuture<ExternalKeyService.Probe>> prober, Function<String, EkmInfo> ekm,
      int fleetSize, Duration healthCache, Duration answerTimeout, Duration abandonAfter) {
    for (XksEndpoint e : endpoints) {
      byPrefix.put(e.prefix(), e);
    }
    this.keys = keys;
    this.prober = prober;
    this.answerTimeoutNanos = answerTimeout.toNanos();
    this.abandonAfterNanos = abandonAfter.toNanos();
    this.ekm = ekm;
    this.fleetSize = fleetSize;
    this.healthCacheNanos = Math.min(healthCache.toNanos(), Duration.ofSeconds(60).toNanos());
    String version = XksApi.class.getPackage().getImplementationVersion();
    this.model = "kmsgw XKS proxy " + (version == null ? "dev" : version);
  }

  /** Records every key operation in the audit trail before answering it. Call before the routes are mounted. */
  public XksApi audit(XksAudit audit) {
    this.auditing = new XksAuditing(audit);
    return this;
  }

  @Override
  public void accept(Router router) {
    String paths = ".*" + Pattern.quote(API_PATH) + "(/.*)?";
    // prefix, operation and method before the body is read; then the body, the operation, and the XKS errors
    router.routeWithRegex(paths).handler(this::route);
    router.routeWithRegex(paths)
        .handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES))
        .handler(this::handle)
        .failureHandler(this::failure);
  }

  private static final String ENDPOINT = "kmsgw.xks.endpoint";
  private static final String OPERATION = "kmsgw.xks.operation";
  private static final String KEY = "kmsgw.xks.key";

  /** Prefix, operation and method, before the body is read. */
  private void route(RoutingContext ctx) {
    String path = ctx.request().path();
    int at = path.indexOf(API_PATH);
    String prefix = path.substring(0, at);
    while (prefix.startsWith("/")) {
      prefix = prefix.substring(1);
    }
    String rest = path.substring(at + API_PATH.length());
    XksEndpoint endpoint = byPrefix.get(prefix);
    GatewayHttpServer.describe(ctx, "xks", null, null, null);
    if (endpoint == null) {
      throw new XksException(XksErrorCode.INVALID_URI_PATH, "No XKS endpoint is configured at this URI path.");
    }
    Operation op;
    String keyId = null;
    if (rest.equals("/health")) {
      op = Operation.HEALTH;
    } else if (rest.startsWith("/keys/") && rest.indexOf('/', "/keys/".length()) > "/keys/".length()) {
      int slash = rest.indexOf('/', "/keys/".length());
      keyId = rest.substring("/keys/".length(), slash);
      op = switch (rest.substring(slash + 1)) {
        case "metadata" -> Operation.METADATA;
        case "encrypt" -> Operation.ENCRYPT;
        case "decrypt" -> Operation.DECRYPT;
        default -> throw new XksException(XksErrorCode.INVALID_URI_PATH, "The URI path names no XKS operation.");
      };
    } else {
      throw new XksException(XksErrorCode.INVALID_URI_PATH, "The URI path names no XKS operation.");
    }
    GatewayHttpServer.describe(ctx, "xks:" + op.apiName, null, keyId == null ? null : safe(keyId), null);
    if (ctx.request().method() != HttpMethod.POST) {
      // XKS spec: a GET (or any other method) at an XKS URI is 405 Method Not Allowed
      ctx.response().setStatusCode(405).putHeader("Allow", "POST").end();
      return;
    }
    ctx.put(ENDPOINT, endpoint);
    ctx.put(OPERATION, op);
    ctx.put(KEY, keyId);
    auditing.request(ctx, endpoint, keyId, XksRequest.Metadata.NONE);
    ctx.next();
  }

  private void handle(RoutingContext ctx) {
    XksEndpoint endpoint = ctx.get(ENDPOINT);
    Operation op = ctx.get(OPERATION);
    String keyId = ctx.get(KEY);
    byte[] body = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
    Caller signer;
    try {
      signer = endpoint.verifier().verify(new VertxSignedRequest(ctx, body));
    } catch (KmsException e) {
      // the reason (never a secret) helps whoever configures the credentials; KMS logs it in CloudWatch
      throw new XksException(XksErrorCode.AUTHENTICATION_FAILED, e.getMessage());
    }
    auditing.signedBy(ctx, signer);
    XksRequest.Metadata md;
    CompletableFuture<Map<String, Object>> result;
    if (op == Operation.HEALTH) {
      md = XksRequest.healthMetadata(body);
      log(ctx, op, signer, keyId, md);
      XksRequest.health(XksRequest.parse(body));
      result = health(endpoint);
    } else {
      Map<String, Object> json = XksRequest.parse(body);
      md = XksRequest.healthMetadata(body);
      log(ctx, op, signer, keyId, md);
      if (!EXTERNAL_KEY_ID.matcher(keyId).matches()) {
        throw new XksException(XksErrorCode.VALIDATION, "The externalKeyId must be 1 to 128 characters of A-Z a-z "
            + "0-9 . _ -.");
      }
      result = switch (op) {
        case METADATA -> {
          md = XksRequest.metadata(json, false);
          log(ctx, op, signer, keyId, md);
          endpoint.authorizer().check(endpoint.name(), op.apiName, keyId, md);
          yield keys.metadata(endpoint.exposure(), keyId, auditing.keyArn(ctx)).thenApply(m -> {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("keySpec", m.keySpec());
            out.put("keyUsage", m.keyUsage());
            out.put("keyStatus", m.enabled() ? "ENABLED" : "DISABLED");
            return out;
          });
        }
        case ENCRYPT -> {
          XksRequest.Encrypt r = XksRequest.encrypt(json);
          log(ctx, op, signer, keyId, r.metadata());
          endpoint.authorizer().check(endpoint.name(), op.apiName, keyId, r.metadata());
          yield keys.encrypt(endpoint.exposure(), keyId, r.plaintext(), r.aad(), r.integrityValue(),
              auditing.keyArn(ctx)).thenApply(s -> {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("ciphertext", s.ciphertext());
            out.put("ciphertextMetadata", s.metadata());
            out.put("initializationVector", s.iv());
            out.put("authenticationTag", s.tag());
            out.put("ciphertextDataIntegrityValue", s.integrityValue());
            return out;
          });
        }
        case DECRYPT -> {
          XksRequest.Decrypt r = XksRequest.decrypt(json);
          log(ctx, op, signer, keyId, r.metadata());
          endpoint.authorizer().check(endpoint.name(), op.apiName, keyId, r.metadata());
          yield keys.decrypt(endpoint.exposure(), keyId, r.ciphertext(), r.ciphertextMetadata(), r.aad(), r.iv(),
              r.tag(), auditing.keyArn(ctx)).thenApply(p -> {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("plaintext", p);
                return out;
              });
        }
        default -> throw new IllegalStateException();
      };
    }
    Future.fromCompletionStage(result, ctx.vertx().getOrCreateContext()).onComplete(ar -> {
      if (ar.succeeded()) {
        Runnable respond = () -> ctx.response().putHeader("Content-Type", "application/json")
            .end(Buffer.buffer(JsonResponse.write(ar.result())));
        if (op == Operation.HEALTH) {
          respond.run();
        } else {
          auditing.answer(ctx, op.apiName, null, respond);
        }
      } else {
        ctx.fail(ar.cause());
      }
    });
  }

  /** The request's log line, and what its audit event will say of the request. */
  private void log(RoutingContext ctx, Operation op, Caller signer, String keyId, XksRequest.Metadata md) {
    auditing.request(ctx, ctx.get(ENDPOINT), keyId, md);
    GatewayHttpServer.describe(ctx, "xks:" + op.apiName, signer.arn(), keyId == null ? null : safe(keyId),
        "kms_request_id=" + safe(md.kmsRequestId()) + " kms_operation=" + safe(md.kmsOperation())
            + (md.awsPrincipalArn() == null ? "" : " principal=" + safe(md.awsPrincipalArn()))
            + (md.kmsViaService() == null ? "" : " via=" + safe(md.kmsViaService())));
  }

  /** Client text fit for a log line: no spaces or control characters, at most 256 characters. */
  static String safe(String s) {
    if (s == null) {
      return "-";
    }
    StringBuilder sb = new StringBuilder(Math.min(s.length(), 256));
    for (int i = 0; i < s.length() && sb.length() < 256; i++) {
      char c = s.charAt(i);
      sb.append(c > 0x20 && c < 0x7f && c != '"' && c != '\\' ? c : '_');
    }
    return sb.toString();
  }

  /** GetHealthStatus: the endpoint's key store, from a deep check at most {@code healthCache} old. */
  private CompletableFuture<Map<String, Object>> health(XksEndpoint endpoint) {
    String storeId = endpoint.exposure().keyStoreId();
    EkmInfo info = ekm.apply(storeId);
    return probe(storeId).thenApply(p -> {
      Map<String, Object> hsm = new LinkedHashMap<>();
      hsm.put("id", storeId);
      hsm.put("model", info.model());
      hsm.put("healthStatus", status(p));
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("xksProxyFleetSize", fleetSize);
      out.put("xksProxyVendor", "kmsgw");
      out.put("xksProxyModel", model);
      out.put("ekmVendor", info.vendor());
      out.put("ekmFleetDetails", List.of(hsm));
      return out;
    });
  }

  /** ACTIVE; DEGRADED when the round trip worked but slowly or with calls waiting for a session; else UNAVAILABLE. */
  static String status(ExternalKeyService.Probe p) {
    if (!p.ok()) {
      return "UNAVAILABLE";
    }
    return p.micros() > 100_000 || p.waiting() > 0 || STILL_RUNNING.equals(p.detail()) ? "DEGRADED" : "ACTIVE";
  }

  /**
   * The deep check of a key store: the cached result while it is fresh, else the check under way (one at a time
   * per store; every health request meanwhile shares it), else a new one. Always answers within the answer
   * timeout: a check that has not finished by then is DEGRADED while it is merely slow, UNAVAILABLE once it has run
   * longer than the abandon limit (then dropped, so that a later request starts a new one). A check that fails,
   * even by throwing before it starts, is UNAVAILABLE.
   */
  CompletableFuture<ExternalKeyService.Probe> probe(String storeId) {
    CachedProbe cached = probes.get(storeId);
    if (cached != null && System.nanoTime() - cached.at() < healthCacheNanos) {
      return CompletableFuture.completedFuture(cached.probe());
    }
    InFlight mine = new InFlight(new CompletableFuture<>(), System.nanoTime());
    InFlight running = inFlight.putIfAbsent(storeId, mine);
    if (running == null) {
      start(storeId, mine);
      running = mine;
    } else if (System.nanoTime() - running.startedAt() > abandonAfterNanos) {
      finish(storeId, running, failed(storeId, running, "no answer from the HSM within "
          + abandonAfterNanos / 1_000_000 + " ms"));
    }
    InFlight check = running;
    return check.future().copy().completeOnTimeout(null, answerTimeoutNanos, TimeUnit.NANOSECONDS)
        .thenApply(p -> {
          if (p != null) {
            return p;
          }
          long micros = (System.nanoTime() - check.startedAt()) / 1000;
          if (micros * 1000 > abandonAfterNanos) {
            return failed(storeId, check, "no answer from the HSM within " + abandonAfterNanos / 1_000_000 + " ms");
          }
          // still running: slow, not known to be down (XKS spec: DEGRADED can still serve traffic)
          return new ExternalKeyService.Probe(storeId, true, micros, 0, STILL_RUNNING);
        });
  }

  private void start(String storeId, InFlight mine) {
    CompletableFuture<ExternalKeyService.Probe> check;
    try {
      check = prober.apply(storeId);
    } catch (RuntimeException e) {
      // e.g. the store left CONNECTED between the probe's own checks: answer, and let the next request retry
      finish(storeId, mine, failed(storeId, mine, String.valueOf(e.getMessage())));
      return;
    }
    check.whenComplete((p, t) -> finish(storeId, mine, p != null ? p
        : failed(storeId, mine, t == null ? "no result" : String.valueOf(t.getMessage()))));
  }

  private static ExternalKeyService.Probe failed(String storeId, InFlight check, String detail) {
    return new ExternalKeyService.Probe(storeId, false, (System.nanoTime() - check.startedAt()) / 1000, 0, detail);
  }

  /** Records a check's result (the first one wins) and clears it from the checks under way. */
  private void finish(String storeId, InFlight check, ExternalKeyService.Probe p) {
    try {
      if (check.future().complete(p)) {
        probes.put(storeId, new CachedProbe(p, System.nanoTime()));
        if (!p.ok()) {
          LOG.warning(() -> "XKS health check of key store " + storeId + " failed: " + p.detail());
        }
      }
    } finally {
      inFlight.remove(storeId, check);
    }
  }

  private void failure(RoutingContext ctx) {
    Throwable t = ctx.failure();
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    XksException error;
    if (t instanceof XksException x) {
      error = x;
    } else if (t instanceof KmsException k) {
      error = XksException.from(k);
    } else if (t == null && ctx.statusCode() == 413) {
      error = new XksException(XksErrorCode.UNSUPPORTED_OPERATION, "The request body is larger than "
          + MAX_BODY_BYTES + " bytes, the most this proxy accepts.");
    } else if (t == null && ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
      error = new XksException(XksErrorCode.VALIDATION, "The request could not be read.");
    } else {
      LOG.log(Level.SEVERE, "XKS request: internal error", t);
      error = new XksException(XksErrorCode.INTERNAL, "An internal error occurred.");
    }
    if (error.code() == XksErrorCode.INTERNAL && error.getCause() != null) {
      XksException e = error;
      LOG.warning(() -> "XKS request: " + e.getMessage() + " (" + e.getCause().getMessage() + ")");
    }
    GatewayHttpServer.failed(ctx, error.code().errorName());
    if (ctx.response().ended() || ctx.response().closed()) {
      return;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("errorName", error.code().errorName());
    body.put("errorMessage", error.getMessage());
    Runnable respond = () -> {
      if (!ctx.response().ended() && !ctx.response().closed()) {
        ctx.response().setStatusCode(error.code().httpStatus()).putHeader("Content-Type", "application/json")
            .end(Buffer.buffer(JsonResponse.write(body)));
      }
    };
    Operation op = ctx.get(OPERATION);
    if (op != null && op != Operation.HEALTH) {
      // refused key operations are recorded too: who tried which key, and why it was refused
      auditing.answer(ctx, op.apiName, error, respond);
    } else {
      respond.run();
    }
  }
}
