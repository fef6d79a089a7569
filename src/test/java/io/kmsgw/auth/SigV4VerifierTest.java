package io.kmsgw.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/** SigV4 verification checked against the AWS SDK for Java v2's own signer, never against itself. */
class SigV4VerifierTest {
  private static final String AKID = "AKIAIOSFODNN7EXAMPLE";
  private static final String SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  private static final Instant NOW = Instant.parse("2026-11-23T10:15:30Z");
  private static final Caller ROOT = new Caller("arn:aws:iam::111122223333:root", "111122223333", "111122223333",
      AKID, "Root");
  private static final String BODY = "{\"KeyId\":\"alias/test\",\"Plaintext\":\"aGVsbG8=\"}";

  private final SigV4Verifier verifier = new SigV4Verifier("kms", "us-east-1",
      new StaticCredentialStore(List.of(new AccessKey(AKID, SECRET, ROOT))), Clock.fixed(NOW, ZoneOffset.UTC));

  /** A request as the server receives it: headers by lower-case name. */
  static final class Req implements SignedRequest {
    final String method;
    final String path;
    final String query;
    final Map<String, List<String>> headers = new TreeMap<>();
    byte[] body;

    Req(SdkHttpRequest signed, byte[] body) {
      this.method = signed.method().name();
      this.path = signed.encodedPath().isEmpty() ? "/" : signed.encodedPath();
      this.query = signed.encodedQueryParameters().orElse(null);
      signed.headers().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), new ArrayList<>(v)));
      this.body = body;
    }

    void set(String name, String value) {
      headers.put(name, new ArrayList<>(List.of(value)));
    }

    @Override
    public String method() {
      return method;
    }

    @Override
    public String rawPath() {
      return path;
    }

    @Override
    public String rawQuery() {
      return query;
    }

    @Override
    public List<String> headers(String name) {
      return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
    }

    @Override
    public byte[] body() {
      return body;
    }
  }

  private static Req sign(String secret, String region, String service, Instant at, String uri, String body) {
    return sign(secret, region, service, at, uri, body, Map.of());
  }

  private static Req sign(String secret, String region, String service, Instant at, String uri, String body,
      Map<String, String> extraHeaders) {
    SdkHttpRequest.Builder builder = SdkHttpRequest.builder()
        .method(SdkHttpMethod.POST)
        .uri(URI.create(uri))
        .putHeader("Content-Type", "application/x-amz-json-1.1")
        .putHeader("X-Amz-Target", "TrentService.Encrypt")
        .putHeader("User-Agent", "test-agent");
    extraHeaders.forEach(builder::putHeader);
    SdkHttpRequest request = builder.build();
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
            .identity(AwsCredentialsIdentity.create(AKID, secret))
            .request(request)
            .payload(ContentStreamProvider.fromByteArray(bytes))
            .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, service)
            .putProperty(AwsV4HttpSigner.REGION_NAME, region)
            .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(at, ZoneOffset.UTC)))
        .request();
    return new Req(signed, bytes);
  }

  private static Req good() {
    return sign(SECRET, "us-east-1", "kms", NOW, "http://127.0.0.1:8400/", BODY);
  }

  private void assertRefused(ErrorCode code, SignedRequest r) {
    KmsException e = assertThrows(KmsException.class, () -> verifier.verify(r));
    assertEquals(code, e.code(), e.getMessage());
  }

  @Test
  void verify_requestSignedBySdk_returnsTheCaller() {
    assertEquals(ROOT, verifier.verify(good()));
  }

  @Test
  void verify_withQueryStringAndEncodedPath_returnsTheCaller() {
    Req r = sign(SECRET, "us-east-1", "kms", NOW, "http://127.0.0.1:8400/a%20b/c?z=1&a=x%2Fy&a=b", BODY);
    assertEquals(ROOT, verifier.verify(r));
  }

  /** Regression of SigV4FuzzTest's finding: the SDK signs the path with its dot segments removed. */
  @Test
  void verify_pathWithDotSegments_isCanonicalisedAsTheSdkSignsIt() {
    for (String uri : List.of("http://127.0.0.1:8400/.", "http://127.0.0.1:8400/a/./b/../c",
        "http://127.0.0.1:8400/a/.", "http://127.0.0.1:8400/a/b/../", "http://127.0.0.1:8400/..%2F.")) {
      assertEquals(ROOT, verifier.verify(sign(SECRET, "us-east-1", "kms", NOW, uri, BODY)), uri);
    }
  }

  @Test
  void verify_signedWithinTheSkewWindow_isAccepted() {
    assertEquals(ROOT, verifier.verify(sign(SECRET, "us-east-1", "kms", NOW.minus(Duration.ofMinutes(4)),
        "http://127.0.0.1:8400/", BODY)));
    assertEquals(ROOT, verifier.verify(sign(SECRET, "us-east-1", "kms", NOW.plus(Duration.ofMinutes(4)),
        "http://127.0.0.1:8400/", BODY)));
  }

  @Test
  void verify_withWrongSecret_failsInvalidSignature() {
    assertRefused(ErrorCode.INVALID_SIGNATURE,
        sign(SECRET + "x", "us-east-1", "kms", NOW, "http://127.0.0.1:8400/", BODY));
  }

  @Test
  void verify_withWrongRegion_failsInvalidSignature() {
    assertRefused(ErrorCode.INVALID_SIGNATURE,
        sign(SECRET, "eu-west-1", "kms", NOW, "http://127.0.0.1:8400/", BODY));
  }

  @Test
  void verify_withWrongService_failsInvalidSignature() {
    assertRefused(ErrorCode.INVALID_SIGNATURE, sign(SECRET, "us-east-1", "s3", NOW, "http://127.0.0.1:8400/", BODY));
  }

  @Test
  void verify_withStaleDate_failsInvalidSignature() {
    assertRefused(ErrorCode.INVALID_SIGNATURE, sign(SECRET, "us-east-1", "kms", NOW.minus(Duration.ofMinutes(6)),
        "http://127.0.0.1:8400/", BODY));
  }

  @Test
  void verify_withDateInTheFuture_failsInvalidSignature() {
    assertRefused(ErrorCode.INVALID_SIGNATURE, sign(SECRET, "us-east-1", "kms", NOW.plus(Duration.ofMinutes(6)),
        "http://127.0.0.1:8400/", BODY));
  }

  @Test
  void verify_withUnsignedHeaderTampered_stillVerifies() {
    Req r = good();
    // User-Agent is not among the SDK's signed headers: changing it must not matter, and must not be trusted
    r.set("user-agent", "something else");
    r.set("x-forwarded-for", "10.0.0.1");
    assertEquals(ROOT, verifier.verify(r));
  }

  @Test
  void verify_withSignedHeaderTampered_failsInvalidSignature() {
    Req r = good();
    r.set("x-amz-target", "TrentService.Decrypt");
    assertRefused(ErrorCode.INVALID_SIGNATURE, r);
  }

  @Test
  void verify_withTargetAddedToARequestSignedWithoutIt_failsInvalidSignature() {
    // a captured request whose signature does not cover X-Amz-Target must not be replayable as another operation
    SdkHttpRequest request = SdkHttpRequest.builder().method(SdkHttpMethod.POST)
        .uri(URI.create("http://127.0.0.1:8400/")).build();
    byte[] bytes = BODY.getBytes(StandardCharsets.UTF_8);
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
            .identity(AwsCredentialsIdentity.create(AKID, SECRET))
            .request(request)
            .payload(ContentStreamProvider.fromByteArray(bytes))
            .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "kms")
            .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1")
            .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(NOW, ZoneOffset.UTC)))
        .request();
    Req r = new Req(signed, bytes);
    assertEquals(ROOT, verifier.verify(r), "without a target it verifies");
    r.set("x-amz-target", "TrentService.ScheduleKeyDeletion");
    assertRefused(ErrorCode.INVALID_SIGNATURE, r);
  }

  @Test
  void verify_signedHeaderWithTabsAndRepeatedSpaces_isCanonicalisedLikeBotocore() {
    Req r = sign(SECRET, "us-east-1", "kms", NOW, "http://127.0.0.1:8400/", BODY, Map.of("x-custom", "a\t b   c"));
    assertEquals(ROOT, verifier.verify(r));
  }

  @Test
  void verify_withBodyTampered_failsInvalidSignature() {
    Req r = good();
    r.body = BODY.replace("test", "prod").getBytes(StandardCharsets.UTF_8);
    assertRefused(ErrorCode.INVALID_SIGNATURE, r);
  }

  @Test
  void verify_withContentSha256HeaderOfOtherBody_failsInvalidSignature() {
    Req r = good();
    r.set("x-amz-content-sha256", "0".repeat(64));
    assertRefused(ErrorCode.INVALID_SIGNATURE, r);
  }

  @Test
  void verify_withMatchingContentSha256Header_verifies() {
    Req r = jsStyle(BODY.getBytes(StandardCharsets.UTF_8));
    org.junit.jupiter.api.Assertions.assertTrue(
        r.headers("authorization").get(0).contains("x-amz-content-sha256"), "the header must be signed");
    assertEquals(ROOT, verifier.verify(r));
  }

  /** Signs with x-amz-content-sha256 as a signed header, as the AWS SDK for JavaScript v3 does. */
  private static Req jsStyle(byte[] bytes) {
    String hash = java.util.HexFormat.of().formatHex(sha256(bytes));
    return sign(SECRET, "us-east-1", "kms", NOW, "http://127.0.0.1:8400/", new String(bytes, StandardCharsets.UTF_8),
        Map.of("x-amz-content-sha256", hash));
  }

  private static byte[] sha256(byte[] b) {
    try {
      return java.security.MessageDigest.getInstance("SHA-256").digest(b);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void verify_withoutAuthorization_failsMissingAuthenticationToken() {
    Req r = good();
    r.headers.remove("authorization");
    assertRefused(ErrorCode.MISSING_AUTHENTICATION_TOKEN, r);
  }

  @Test
  void verify_withUnknownAccessKey_failsUnrecognizedClient() {
    Req r = good();
    r.set("authorization", r.headers("authorization").get(0).replace(AKID, "AKIAUNKNOWNUNKNOWN00"));
    assertRefused(ErrorCode.UNRECOGNIZED_CLIENT, r);
  }

  @Test
  void verify_withSessionTokenButNoTemporaryCredentials_failsUnrecognizedClient() {
    Req r = sign(SECRET, "us-east-1", "kms", NOW, "http://127.0.0.1:8400/", BODY,
        Map.of("x-amz-security-token", "FwoGZXIvYXdzEXAMPLE"));
    assertRefused(ErrorCode.UNRECOGNIZED_CLIENT, r);
    Req unsigned = good();
    unsigned.set("x-amz-security-token", "FwoGZXIvYXdzEXAMPLE");
    assertRefused(ErrorCode.INVALID_SIGNATURE, unsigned);
  }

  @Test
  void verify_withMalformedAuthorization_failsIncompleteSignature() {
    Req r = good();
    r.set("authorization", "AWS4-HMAC-SHA256 Credential=" + AKID + "/20261123/us-east-1/kms/aws4_request");
    assertRefused(ErrorCode.INCOMPLETE_SIGNATURE, r);
    r.set("authorization", "Basic dXNlcjpwYXNz");
    assertRefused(ErrorCode.INCOMPLETE_SIGNATURE, r);
  }

  @Test
  void verify_withoutAmzDate_failsIncompleteSignature() {
    Req r = good();
    r.headers.remove("x-amz-date");
    assertRefused(ErrorCode.INCOMPLETE_SIGNATURE, r);
  }

  @Test
  void verify_withHostNotSigned_failsInvalidSignature() {
    Req r = good();
    String auth = r.headers("authorization").get(0);
    r.set("authorization", auth.replaceAll("SignedHeaders=[^,]*", "SignedHeaders=x-amz-date;x-amz-target"));
    assertRefused(ErrorCode.INVALID_SIGNATURE, r);
  }

  @Test
  void verify_withScopeDateOtherThanAmzDate_failsInvalidSignature() {
    Req r = good();
    r.set("authorization", r.headers("authorization").get(0).replace("/20261123/", "/20261122/"));
    assertRefused(ErrorCode.INVALID_SIGNATURE, r);
  }

  @Test
  void verify_withUppercaseSignature_failsIncompleteSignature() {
    Req r = good();
    String auth = r.headers("authorization").get(0);
    int i = auth.indexOf("Signature=") + "Signature=".length();
    r.set("authorization", auth.substring(0, i) + auth.substring(i).toUpperCase(Locale.ROOT));
    assertRefused(ErrorCode.INCOMPLETE_SIGNATURE, r);
  }

  @Test
  void ownSigner_producesTheSdksSignature() {
    Req sdk = good();
    String sdkAuth = sdk.headers("authorization").get(0);
    Map<String, String> headers = new java.util.LinkedHashMap<>();
    for (String name : sdkAuth.replaceAll(".*SignedHeaders=([^,]*),.*", "$1").split(";")) {
      if (!name.equals("x-amz-date")) {
        headers.put(name, sdk.headers(name).get(0));
      }
    }
    Map<String, String> ours = new SigV4Signer(AKID, SECRET, "us-east-1", "kms")
        .sign("POST", "/", null, headers, BODY.getBytes(StandardCharsets.UTF_8), NOW);
    assertEquals(sdkAuth, ours.get("Authorization"));
    assertEquals(sdk.headers("x-amz-date").get(0), ours.get("X-Amz-Date"));
  }

  @Test
  void canonicalUri_encodesPathTwiceForNonS3Services() {
    assertEquals("/a%2520b/c", SigV4.canonicalUri("/a%20b/c"));
    assertEquals("/", SigV4.canonicalUri(""));
  }

  @Test
  void canonicalQuery_sortsByNameThenValue() {
    assertEquals("a=b&a=x%2Fy&z=1", SigV4.canonicalQuery("z=1&a=x%2Fy&a=b"));
  }
}
