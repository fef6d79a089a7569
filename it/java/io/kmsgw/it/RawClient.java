package io.kmsgw.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/** Hand-made HTTP requests to the gateway, signed (or not) with the AWS SDK's own SigV4 signer. */
final class RawClient {
  private static final java.util.Set<String> RESTRICTED = java.util.Set.of("host", "content-length", "connection");

  private final URI endpoint;
  private final HttpClient http = HttpClient.newHttpClient();

  RawClient(URI endpoint) {
    this.endpoint = endpoint;
  }

  record Response(int status, Map<String, List<String>> headers, String body) {
    String header(String name) {
      return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).findFirst()
          .map(e -> e.getValue().get(0)).orElse(null);
    }
  }

  Response unsigned(String target, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint.resolve("/"))
        .header("Content-Type", "application/x-amz-json-1.1")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (target != null) {
      b.header("X-Amz-Target", target);
    }
    return send(b.build());
  }

  Response signed(String target, byte[] body) throws Exception {
    SdkHttpRequest request = SdkHttpRequest.builder()
        .method(SdkHttpMethod.POST)
        .uri(endpoint.resolve("/"))
        .putHeader("Content-Type", "application/x-amz-json-1.1")
        .putHeader("X-Amz-Target", target)
        .build();
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
            .identity(AwsCredentialsIdentity.create(GatewayProcess.ACCESS_KEY_ID, GatewayProcess.SECRET))
            .request(request)
            .payload(ContentStreamProvider.fromByteArray(body))
            .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "kms")
            .putProperty(AwsV4HttpSigner.REGION_NAME, GatewayProcess.REGION)
            .putProperty(software.amazon.awssdk.http.auth.spi.signer.HttpSigner.SIGNING_CLOCK, Clock.systemUTC()))
        .request();
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint.resolve("/"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    signed.headers().forEach((k, v) -> {
      if (!RESTRICTED.contains(k.toLowerCase(java.util.Locale.ROOT))) {
        v.forEach(value -> b.header(k, value));
      }
    });
    return send(b.build());
  }

  Response signed(String target, String body) throws Exception {
    return signed(target, body.getBytes(StandardCharsets.UTF_8));
  }

  Response get(String path) throws Exception {
    return send(HttpRequest.newBuilder(endpoint.resolve(path)).GET().build());
  }

  /** {@code GET path} signed for the service kms with the given credentials. */
  Response signedGet(String path, String accessKeyId, String secret) throws Exception {
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
            .identity(AwsCredentialsIdentity.create(accessKeyId, secret))
            .request(SdkHttpRequest.builder().method(SdkHttpMethod.GET).uri(endpoint.resolve(path)).build())
            .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "kms")
            .putProperty(AwsV4HttpSigner.REGION_NAME, GatewayProcess.REGION)
            .putProperty(software.amazon.awssdk.http.auth.spi.signer.HttpSigner.SIGNING_CLOCK, Clock.systemUTC()))
        .request();
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint.resolve(path)).GET();
    signed.headers().forEach((k, v) -> {
      if (!RESTRICTED.contains(k.toLowerCase(java.util.Locale.ROOT))) {
        v.forEach(value -> b.header(k, value));
      }
    });
    return send(b.build());
  }

  /** The health details ({@code GET /healthz/detail}), signed with the administrator's credentials. */
  Response healthDetail() throws Exception {
    return signedGet("/healthz/detail", GatewayProcess.ACCESS_KEY_ID, GatewayProcess.SECRET);
  }

  private Response send(HttpRequest request) throws Exception {
    HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
    return new Response(r.statusCode(), r.headers().map(), r.body());
  }
}
