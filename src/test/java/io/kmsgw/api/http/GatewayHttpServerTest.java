package io.kmsgw.api.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KmsApi;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.auth.AccessKey;
import io.kmsgw.auth.SigV4Verifier;
import io.kmsgw.auth.StaticCredentialStore;
import io.kmsgw.domain.Caller;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/**
 * The HTTP front in-process: routing, SigV4, the one failure handler, JSON encoding. Handlers are stand-ins (the
 * operations behind them are tested on SoftHSM2 elsewhere).
 */
@ExtendWith(VertxExtension.class)
class GatewayHttpServerTest {
  private static final String AKID = "AKIAHTTPTESTHTTPTEST";
  private static final String SECRET = "http-test-secret-0000000000000000000000";
  private static final Caller ROOT = new Caller("arn:aws:iam::111122223333:root", "111122223333", "111122223333",
      AKID, "Root");
  private static final String USER_AKID = "AKIAHTTPTESTUSER0000";
  private static final String USER_SECRET = "http-test-user-secret-000000000000000000";
  private static final Caller USER = new Caller("arn:aws:iam::111122223333:user/reader", "111122223333",
      "AIDAHTTPTESTUSER0000", USER_AKID, "User");

  private final HttpClient http = HttpClient.newHttpClient();
  /** Every call the server asked the audit trail to record, and how the trail answers. */
  private final List<RequestAudit.Call> audited = new java.util.concurrent.CopyOnWriteArrayList<>();
  private volatile java.util.function.Supplier<CompletableFuture<Void>> auditAnswer =
      () -> CompletableFuture.completedFuture(null);
  private final AtomicBoolean healthy = new AtomicBoolean(true);
  private int port;

  /** ListKeys answers a fixed document; Encrypt fails with an unexpected exception; Decrypt answers after a delay. */
  private static List<OperationHandler> handlers() {
    OperationHandler listKeys = new OperationHandler() {
      @Override
      public String name() {
        return "ListKeys";
      }

      @Override
      public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("Keys", List.of(Map.of("KeyId", "k1")));
        out.put("Truncated", false);
        out.put("When", Instant.ofEpochMilli(1_700_000_000_123L));
        out.put("Blob", new byte[] {1, 2, 3});
        out.put("Caller", ctx.caller().arn());
        return CompletableFuture.completedFuture(out);
      }
    };
    OperationHandler encrypt = new OperationHandler() {
      @Override
      public String name() {
        return "Encrypt";
      }

      @Override
      public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
        throw new IllegalStateException("internal detail: CKR_DEVICE_ERROR at 0xdeadbeef");
      }
    };
    OperationHandler decrypt = new OperationHandler() {
      @Override
      public String name() {
        return "Decrypt";
      }

      @Override
      public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
        return CompletableFuture.supplyAsync(() -> Map.of("Plaintext", "late".getBytes(StandardCharsets.UTF_8)),
            CompletableFuture.delayedExecutor(50, java.util.concurrent.TimeUnit.MILLISECONDS));
      }
    };
    return List.of(listKeys, encrypt, decrypt);
  }

  @BeforeEach
  void deploy(Vertx vertx, VertxTestContext ctx) {
    SigV4Verifier verifier = new SigV4Verifier("kms", "us-east-1",
        new StaticCredentialStore(List.of(new AccessKey(AKID, SECRET, ROOT), new AccessKey(USER_AKID, USER_SECRET,
            USER))), Clock.systemUTC());
    KmsApi api = new KmsApi(ServiceModel.kms(), handlers());
    GatewayHttpServer server = new GatewayHttpServer(new GatewayHttpServer.Listen("127.0.0.1", 0, null, null),
        verifier, api, () -> new GatewayHttpServer.Health(healthy.get(), Map.of("state",
            healthy.get() ? "CONNECTED" : "FAILED", "pkcs11Library", "/usr/lib/softhsm/libsofthsm2.so")))
        // a stand-in for the gateway's authorizer (kms:DescribeCustomKeyStores): the root may, the user may not
        .healthDetail(caller -> {
          if (!caller.arn().equals(ROOT.arn())) {
            throw new io.kmsgw.error.KmsException(io.kmsgw.error.ErrorCode.ACCESS_DENIED, "User: " + caller.arn()
                + " is not authorized to perform: kms:DescribeCustomKeyStores");
          }
        })
        .audit(call -> {
          audited.add(call);
          return auditAnswer.get();
        });
    vertx.deployVerticle(server).onComplete(ctx.succeeding(id -> {
      port = server.actualPort();
      ctx.completeNow();
    }));
  }

  private HttpResponse<String> signed(String target, String body) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + port + "/");
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
            .identity(AwsCredentialsIdentity.create(AKID, SECRET))
            .request(SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(uri)
                .putHeader("X-Amz-Target", target).build())
            .payload(ContentStreamProvider.fromByteArray(bytes))
            .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "kms")
            .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1"))
        .request();
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofByteArray(bytes));
    signed.headers().forEach((k, v) -> {
      if (!k.equalsIgnoreCase("host")) {
        v.forEach(value -> b.header(k, value));
      }
    });
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void signedRequest_isAnsweredInAwsJson() throws Exception {
    HttpResponse<String> r = signed("TrentService.ListKeys", "{}");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("application/x-amz-json-1.1", r.headers().firstValue("Content-Type").orElse(""));
    assertTrue(r.headers().firstValue("x-amzn-RequestId").isPresent());
    JsonObject body = new JsonObject(r.body());
    assertEquals("k1", body.getJsonArray("Keys").getJsonObject(0).getString("KeyId"));
    assertEquals("AQID", body.getString("Blob"), "blobs are base64");
    assertEquals(1_700_000_000.123, body.getDouble("When"), 1e-9, "timestamps are epoch seconds");
    assertEquals(ROOT.arn(), body.getString("Caller"), "handlers see the verified caller");
  }

  @Test
  void asynchronousHandler_isAnsweredWhenItCompletes() throws Exception {
    HttpResponse<String> r = signed("TrentService.Decrypt", "{\"CiphertextBlob\":\"AA==\"}");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("bGF0ZQ==", new JsonObject(r.body()).getString("Plaintext"));
  }

  @Test
  void unexpectedException_isKmsInternalWithTheRequestIdAndNoDetail() throws Exception {
    HttpResponse<String> r = signed("TrentService.Encrypt", "{\"KeyId\":\"k\",\"Plaintext\":\"AA==\"}");
    assertEquals(500, r.statusCode());
    JsonObject body = new JsonObject(r.body());
    assertEquals("KMSInternalException", body.getString("__type"));
    String id = r.headers().firstValue("x-amzn-RequestId").orElseThrow();
    assertTrue(body.getString("message").contains(id), body.getString("message"));
    assertFalse(r.body().contains("CKR_") || r.body().contains("deadbeef"), r.body());
  }

  @Test
  void validationRunsBeforeTheHandler() throws Exception {
    HttpResponse<String> r = signed("TrentService.Encrypt", "{}");
    assertEquals(400, r.statusCode());
    assertEquals("ValidationException", new JsonObject(r.body()).getString("__type"));
  }

  @Test
  void operationInTheModelWithoutHandler_isUnsupported() throws Exception {
    HttpResponse<String> r = signed("TrentService.ListAliases", "{}");
    assertEquals("UnsupportedOperationException", new JsonObject(r.body()).getString("__type"));
  }

  @Test
  void otherPathsAndMethods_areUnknownOperations() throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/keys"))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(400, r.statusCode());
    assertEquals("UnknownOperationException", new JsonObject(r.body()).getString("__type"));
    assertNotNull(r.headers().firstValue("x-amzn-RequestId").orElse(null));
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** {@code GET path} signed by the AWS SDK's signer for the service kms. */
  private HttpResponse<String> signedGet(String path, String akid, String secret) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + port + path);
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
            .identity(AwsCredentialsIdentity.create(akid, secret))
            .request(SdkHttpRequest.builder().method(SdkHttpMethod.GET).uri(uri).build())
            .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "kms")
            .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1"))
        .request();
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET();
    signed.headers().forEach((k, v) -> {
      if (!k.equalsIgnoreCase("host")) {
        v.forEach(value -> b.header(k, value));
      }
    });
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void healthz_anonymous_isTheStatusAlone_503WhenUnavailable() throws Exception {
    HttpResponse<String> ok = get("/healthz");
    assertEquals(200, ok.statusCode());
    assertEquals(new JsonObject().put("status", "ok"), new JsonObject(ok.body()));
    healthy.set(false);
    HttpResponse<String> r = get("/healthz");
    assertEquals(503, r.statusCode());
    assertEquals(new JsonObject().put("status", "unavailable"), new JsonObject(r.body()),
        "no state, store, library path or counter for anonymous callers");
  }

  @Test
  void healthzDetail_unsigned_isMissingAuthenticationToken() throws Exception {
    HttpResponse<String> r = get("/healthz/detail");
    assertEquals(403, r.statusCode());
    assertEquals("MissingAuthenticationTokenException", new JsonObject(r.body()).getString("__type"));
    assertFalse(r.body().contains("softhsm") || r.body().contains("CONNECTED"), r.body());
  }

  @Test
  void healthzDetail_signedWithoutPermission_isAccessDenied() throws Exception {
    HttpResponse<String> r = signedGet("/healthz/detail", USER_AKID, USER_SECRET);
    assertEquals(400, r.statusCode());
    assertEquals("AccessDeniedException", new JsonObject(r.body()).getString("__type"));
    assertFalse(r.body().contains("softhsm") || r.body().contains("CONNECTED"), r.body());
    HttpResponse<String> forged = signedGet("/healthz/detail", AKID, "not-the-secret-0000000000000000000000000");
    assertEquals("InvalidSignatureException", new JsonObject(forged.body()).getString("__type"));
  }

  @Test
  void healthzDetail_signedByAnAllowedCaller_isTheWholeDocument_503WhenUnavailable() throws Exception {
    HttpResponse<String> r = signedGet("/healthz/detail", AKID, SECRET);
    assertEquals(200, r.statusCode(), r.body());
    JsonObject doc = new JsonObject(r.body());
    assertEquals("ok", doc.getString("status"));
    assertEquals("CONNECTED", doc.getString("state"));
    assertEquals("/usr/lib/softhsm/libsofthsm2.so", doc.getString("pkcs11Library"));
    healthy.set(false);
    HttpResponse<String> down = signedGet("/healthz/detail", AKID, SECRET);
    assertEquals(503, down.statusCode());
    assertEquals("FAILED", new JsonObject(down.body()).getString("state"));
  }

  @Test
  void everyKmsCall_isAudited_successesRefusalsAndFailures() throws Exception {
    assertEquals(200, signed("TrentService.ListKeys", "{\"Limit\":5}").statusCode());
    RequestAudit.Call ok = audited.get(audited.size() - 1);
    assertEquals("ListKeys", ok.operation());
    assertEquals(ROOT.arn(), ok.caller().arn());
    assertEquals(5, ((Number) ok.request().get("Limit")).intValue());
    assertEquals(null, ok.error());

    assertEquals(500, signed("TrentService.Encrypt", "{\"KeyId\":\"k\",\"Plaintext\":\"AA==\"}").statusCode());
    RequestAudit.Call failed = audited.get(audited.size() - 1);
    assertEquals("Encrypt", failed.operation());
    assertEquals("KMSInternalException", failed.error().code().awsName());

    HttpResponse<String> unsigned = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
        .header("X-Amz-Target", "TrentService.Decrypt").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(403, unsigned.statusCode());
    RequestAudit.Call refused = audited.get(audited.size() - 1);
    assertEquals("Decrypt", refused.operation());
    assertEquals(null, refused.caller());
    assertEquals("MissingAuthenticationTokenException", refused.error().code().awsName());

    int before = audited.size();
    // a target that names no KMS operation is not an API call
    signed("TrentService.NoSuchThing", "{}");
    assertEquals(before, audited.size());
  }

  @Test
  void theAnswerWaitsForTheAuditRecord_andIsAnErrorWhenItCannotBeRecorded() throws Exception {
    CompletableFuture<Void> held = new CompletableFuture<>();
    java.util.concurrent.CountDownLatch asked = new java.util.concurrent.CountDownLatch(1);
    auditAnswer = () -> {
      asked.countDown();
      return held;
    };
    CompletableFuture<HttpResponse<String>> pending = CompletableFuture.supplyAsync(() -> {
      try {
        return signed("TrentService.ListKeys", "{}");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    // the server has asked for the record; until it is durable there is nothing it may answer
    assertTrue(asked.await(10, java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(false, pending.isDone(), "answered before the audit record was durable");
    held.complete(null);
    assertEquals(200, pending.get(10, java.util.concurrent.TimeUnit.SECONDS).statusCode());

    auditAnswer = () -> CompletableFuture.failedFuture(new java.io.IOException("disk full"));
    HttpResponse<String> r = signed("TrentService.ListKeys", "{}");
    assertEquals(500, r.statusCode());
    assertTrue(r.body().contains("KMSInternalException"), r.body());
    assertTrue(r.body().contains("audit trail"), r.body());
    assertTrue(!r.body().contains("disk full"), r.body());
  }
}
