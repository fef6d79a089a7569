package io.kmsgw.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.KmsException;
import io.kmsgw.testing.Fuzzing;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * SigV4 header parsing and canonicalisation, against the AWS SDK for Java v2's own signer. Must hold: any path,
 * query and header value the SDK signs verifies as the signer (our canonical request is the SDK's); one byte of
 * body changed is refused; an Authorization header made of anything is refused with the project's own error,
 * never accepted and never another exception.
 */
class SigV4FuzzTest {
  private static final String AKID = "AKIAIOSFODNN7EXAMPLE";
  private static final String SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  private static final Instant NOW = Instant.parse("2026-11-23T10:15:30Z");
  private static final Caller ROOT = new Caller("arn:aws:iam::111122223333:root", "111122223333", "111122223333",
      AKID, "Root");
  private static final SigV4Verifier VERIFIER = new SigV4Verifier("kms", "us-east-1",
      new StaticCredentialStore(List.of(new AccessKey(AKID, SECRET, ROOT))), Clock.fixed(NOW, ZoneOffset.UTC));

  @FuzzTest(maxDuration = Fuzzing.BUDGET)
  void signedRequestsVerify_othersAreRefused(FuzzedDataProvider data) {
    String segment = data.consumeString(24);
    String queryName = data.consumeString(12);
    String queryValue = data.consumeString(12);
    String headerValue = "v" + data.consumeAsciiString(24).replaceAll("[^\\x20-\\x7e]", " ") + "v";
    String authorization = data.consumeString(200);
    byte[] body = data.consumeRemainingAsBytes();

    SdkHttpRequest.Builder b = SdkHttpRequest.builder()
        .method(SdkHttpMethod.POST)
        .protocol("http").host("127.0.0.1").port(8400)
        .encodedPath("/" + SdkHttpUtils.urlEncode(segment))
        .putHeader("Content-Type", "application/x-amz-json-1.1")
        .putHeader("X-Amz-Target", "TrentService.Encrypt")
        .putHeader("X-Amz-Meta-Fuzz", headerValue);
    if (!queryName.isEmpty()) {
      b.putRawQueryParameter(queryName, queryValue);
    }
    SdkHttpRequest request = b.build();
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
            .identity(AwsCredentialsIdentity.create(AKID, SECRET))
            .request(request)
            .payload(ContentStreamProvider.fromByteArray(body))
            .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "kms")
            .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1")
            .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(NOW, ZoneOffset.UTC)))
        .request();
    SigV4VerifierTest.Req req = new SigV4VerifierTest.Req(signed, body);
    assertEquals(ROOT, VERIFIER.verify(req), "the SDK's signature did not verify");

    if (body.length > 0) {
      byte[] changed = body.clone();
      changed[changed.length / 2] ^= 1;
      refused(new SigV4VerifierTest.Req(signed, changed));
    }
    SigV4VerifierTest.Req forged = new SigV4VerifierTest.Req(signed, body);
    forged.set("authorization", authorization);
    refused(forged);
  }

  private static void refused(SignedRequest r) {
    try {
      VERIFIER.verify(r);
      fail("a request that was not signed so verified");
    } catch (KmsException e) {
      // the project's own error model: an AWS-shaped authentication error
    }
  }
}
