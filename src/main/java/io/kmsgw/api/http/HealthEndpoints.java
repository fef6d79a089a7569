package io.kmsgw.api.http;

import io.kmsgw.api.kms.JsonResponse;
import io.kmsgw.auth.SigV4Verifier;
import io.kmsgw.domain.Caller;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The health check, in two parts (docs/decisions.md, "Health details behind SigV4"):
 * <ul>
 *   <li>{@code GET /healthz}, anonymous: {@code {"status":"ok"}} (200) or {@code {"status":"unavailable"}} (503), and
 *       nothing else, so a load balancer or supervisor can probe it without learning the gateway's layout;</li>
 *   <li>{@code GET /healthz/detail}: the whole health document (key stores, pools, PKCS#11 call counters, the audit
 *       trail), for a caller whose request is signed with SigV4 for the service {@code kms} and who may
 *       {@code kms:DescribeCustomKeyStores}, which shows the same stores and states through the API. Unsigned: the
 *       KMS API's MissingAuthenticationTokenException; not allowed: AccessDeniedException.</li>
 * </ul>
 * A listener without a verifier (the XKS listener) serves the status only.
 */
public final class HealthEndpoints {
  /** Whether a verified caller may read the details; throws a KmsException (AccessDenied) when not. */
  @FunctionalInterface
  public interface Access {
    void check(Caller caller);
  }

  private static final byte[] OK = "{\"status\":\"ok\"}".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final byte[] UNAVAILABLE =
      "{\"status\":\"unavailable\"}".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final Supplier<GatewayHttpServer.Health> health;
  private final SigV4Verifier verifier;
  private final Access access;

  /**
   * @param verifier the KMS API's verifier, or null to serve the status only
   * @param access who may read the details, or null to serve the status only
   */
  public HealthEndpoints(Supplier<GatewayHttpServer.Health> health, SigV4Verifier verifier, Access access) {
    this.health = health;
    this.verifier = verifier;
    this.access = access;
  }

  void mount(Router router) {
    router.get("/healthz").handler(this::status);
    if (verifier != null && access != null) {
      router.get("/healthz/detail").handler(this::detail);
    }
  }

  private void status(RoutingContext ctx) {
    GatewayHttpServer.describe(ctx, "healthz", null, null, null);
    boolean healthy = health.get().healthy();
    ctx.response()
        .setStatusCode(healthy ? 200 : 503)
        .putHeader("Content-Type", "application/json")
        .end(Buffer.buffer(healthy ? OK : UNAVAILABLE));
  }

  private void detail(RoutingContext ctx) {
    RequestRecord rec = ctx.get(GatewayHttpServer.RECORD);
    rec.operation = "healthz.detail";
    // a GET has no body: the signature covers the empty payload
    Caller caller = verifier.verify(new VertxSignedRequest(ctx, new byte[0]));
    rec.caller = caller.arn();
    access.check(caller.in(new Caller.Scope("-".equals(rec.source) ? null : rec.source, null, null,
        ctx.request().isSSL())));
    GatewayHttpServer.Health h = health.get();
    Map<String, Object> doc = new java.util.LinkedHashMap<>();
    doc.put("status", h.healthy() ? "ok" : "unavailable");
    doc.putAll(h.document());
    ctx.response()
        .setStatusCode(h.healthy() ? 200 : 503)
        .putHeader("Content-Type", "application/json")
        .end(Buffer.buffer(JsonResponse.write(doc)));
  }
}
