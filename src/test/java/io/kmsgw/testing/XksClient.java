package io.kmsgw.testing;

import io.kmsgw.format.StrictJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Map;
import java.util.Set;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/**
 * An XKS client as AWS KMS's proxy management fleet is: JSON over HTTP(S), signed with the AWS SDK's own SigV4
 * signer (service {@code kms-xks-proxy}), never with the gateway's code.
 */
public final class XksClient {
  private static final Set<String> RESTRICTED = Set.of("host", "content-length", "connection");

  private final URI base;
  private final String accessKeyId;
  private final String secret;
  private final String region;
  private final String service;
  private final HttpClient http;
  private Clock clock = Clock.systemUTC();

  /** @param base the URI up to and without {@code /kms/xks/v1}, such as {@code http://127.0.0.1:8400/kmsgw-dev} */
  public XksClient(URI base, String accessKeyId, String secret, String region, String service, HttpClient http) {
    this.base = base;
    this.accessKeyId = accessKeyId;
    this.secret = secret;
    this.region = region;
    this.service = service;
    this.http = http;
  }

  public XksClient(URI base, String accessKeyId, String secret) {
    this(base, accessKeyId, secret, "us-east-1", "kms-xks-proxy", HttpClient.newHttpClient());
  }

  public XksClient withCredentials(String akid, String secretKey) {
    return new XksClient(base, akid, secretKey, region, service, http).signedAt(clock);
  }

  public XksClient withBase(URI other) {
    return new XksClient(other, accessKeyId, secret, region, service, http).signedAt(clock);
  }

  public XksClient withScope(String otherRegion, String otherService) {
    return new XksClient(base, accessKeyId, secret, otherRegion, otherService, http).signedAt(clock);
  }

  /** Signs with this clock's time (to test the five-minute window). */
  public XksClient signedAt(Clock c) {
    this.clock = c;
    return this;
  }

  /** The answer: HTTP status and the JSON body (empty when there is none). */
  public record Response(int status, Map<String, Object> json, String raw) {
    public String errorName() {
      return (String) json.get("errorName");
    }

    public String string(String name) {
      return (String) json.get(name);
    }
  }

  /** POSTs to {@code <base>/kms/xks/v1<path>}, signed. */
  public Response post(String path, String body) throws Exception {
    URI uri = URI.create(base + "/kms/xks/v1" + path);
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    SdkHttpRequest request = SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(uri)
        .putHeader("Content-Type", "application/json").build();
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
            .identity(AwsCredentialsIdentity.create(accessKeyId, secret))
            .request(request)
            .payload(ContentStreamProvider.fromByteArray(bytes))
            .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, service)
            .putProperty(AwsV4HttpSigner.REGION_NAME, region)
            .putProperty(HttpSigner.SIGNING_CLOCK, clock))
        .request();
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofByteArray(bytes));
    signed.headers().forEach((k, v) -> {
      if (!RESTRICTED.contains(k.toLowerCase(java.util.Locale.ROOT))) {
        v.forEach(value -> b.header(k, value));
      }
    });
    return send(b.build());
  }

  /** A GET, unsigned, to {@code <base>/kms/xks/v1<path>}. */
  public Response get(String path) throws Exception {
    return send(HttpRequest.newBuilder(URI.create(base + "/kms/xks/v1" + path)).GET().build());
  }

  private Response send(HttpRequest r) throws Exception {
    HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
    String raw = resp.body();
    Map<String, Object> json = raw == null || raw.isEmpty() ? Map.of()
        : StrictJson.parseObject(raw.getBytes(StandardCharsets.UTF_8));
    return new Response(resp.statusCode(), json, raw);
  }

  /** requestMetadata for a key operation. */
  public static String metadata(String kmsOperation) {
    return "\"requestMetadata\":{\"awsPrincipalArn\":\"arn:aws:iam::123456789012:user/Alice\","
        + "\"kmsKeyArn\":\"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\","
        + "\"kmsOperation\":\"" + kmsOperation + "\",\"kmsRequestId\":\"4112f4d6-db54-4af4-ae30-c55a22a8dfae\"}";
  }
}
