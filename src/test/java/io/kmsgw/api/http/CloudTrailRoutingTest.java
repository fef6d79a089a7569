package io.kmsgw.api.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kmsgw.api.cloudtrail.CloudTrailApi;
import io.kmsgw.api.kms.KmsApi;
import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.audit.AuditLookup;
import io.kmsgw.auth.AccessKey;
import io.kmsgw.auth.SigV4Verifier;
import io.kmsgw.auth.StaticCredentialStore;
import io.kmsgw.domain.Caller;
import io.kmsgw.policy.IdentityPolicies;
import io.kmsgw.testing.TestToken;
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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/** CloudTrail's JSON API on the KMS listener: routed by target or signing name, errors in the JSON error shape. */
@ExtendWith(VertxExtension.class)
class CloudTrailRoutingTest {
  private static final String AKID = "AKIAROUTINGTESTROUTE";
  private static final String SECRET = "routing-test-secret-00000000000000000000";
  private static final Caller ROOT = new Caller("arn:aws:iam::111122223333:root", "111122223333", "111122223333",
      AKID, "Root");
  private static final String LOOKUP = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

  private final HttpClient http = HttpClient.newHttpClient();
  private int port;

  @BeforeEach
  void deploy(Vertx vertx, VertxTestContext ctx) {
    StaticCredentialStore credentials = new StaticCredentialStore(List.of(new AccessKey(AKID, SECRET, ROOT)));
    SigV4Verifier kms = new SigV4Verifier("kms", "us-east-1", credentials, Clock.systemUTC());
    CloudTrailApi trail = CloudTrailApi.create("111122223333", "us-east-1",
        new AuditLookup(TestToken.scratch("routing-trail"), () -> Long.MAX_VALUE), IdentityPolicies.NONE,
        new SigV4Verifier("cloudtrail", "us-east-1", credentials, Clock.systemUTC()), Clock.systemUTC());
    GatewayHttpServer server = new GatewayHttpServer(new GatewayHttpServer.Listen("127.0.0.1", 0, null, null),
        kms, new KmsApi(ServiceModel.kms(), List.of()), () -> new GatewayHttpServer.Health(true, Map.of()))
        .cloudTrail(trail);
    vertx.deployVerticle(server).onComplete(ctx.succeeding(id -> {
      port = server.actualPort();
      ctx.completeNow();
    }));
  }

  private HttpResponse<String> signed(String service, String target, String body) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + port + "/");
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
            .identity(AwsCredentialsIdentity.create(AKID, SECRET))
            .request(SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(uri)
                .putHeader("X-Amz-Target", target).putHeader("Content-Type", "application/x-amz-json-1.1").build())
            .payload(ContentStreamProvider.fromByteArray(bytes))
            .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, service)
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
  void lookupEvents_signedForCloudTrail_isAnsweredInAwsJson() throws Exception {
    HttpResponse<String> r = signed("cloudtrail", LOOKUP, "{\"MaxResults\":5}");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("application/x-amz-json-1.1", r.headers().firstValue("Content-Type").orElse(""));
    assertEquals(0, new JsonObject(r.body()).getJsonArray("Events").size());
  }

  @Test
  void cloudTrailErrors_haveTheJsonErrorShape() throws Exception {
    HttpResponse<String> r = signed("cloudtrail", LOOKUP, "{\"MaxResults\":0}");
    assertEquals(400, r.statusCode());
    assertEquals("InvalidMaxResultsException", new JsonObject(r.body()).getString("__type"));
    assertEquals("InvalidMaxResultsException", r.headers().firstValue("x-amzn-ErrorType").orElse(""));
    HttpResponse<String> other = signed("cloudtrail",
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails", "{}");
    assertEquals("UnknownOperationException", new JsonObject(other.body()).getString("__type"));
  }

  @Test
  void aCloudTrailTarget_signedForKms_isRefusedBySignature() throws Exception {
    HttpResponse<String> r = signed("kms", LOOKUP, "{}");
    assertEquals(400, r.statusCode());
    assertEquals("InvalidSignatureException", new JsonObject(r.body()).getString("__type"));
  }

  @Test
  void kmsTargets_stillReachKms() throws Exception {
    HttpResponse<String> r = signed("kms", "TrentService.ListKeys", "{}");
    // no handler in this KmsApi: KMS's own answer, not CloudTrail's
    assertEquals("UnsupportedOperationException", new JsonObject(r.body()).getString("__type"));
  }
}
