package io.kmsgw.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.testing.MutableClock;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;

/** Temporary credentials in the SigV4 check, signed by the AWS SDK for Java v2 with session credentials. */
class SigV4SessionTokenTest {
  private static final String TEMP_ID = "ASIAQWERTYUIOPASDFGH";
  private static final String TEMP_SECRET = "tempSecretTempSecretTempSecretTempSecret";
  private static final String TOKEN = "c2Vzc2lvbi10b2tlbi1mb3ItdGhlLXRlc3Qtb2YtdGhlLXNpZ3Y0LXZlcmlmaWVyLWF0LWxlYXN0";
  private static final String LONG_ID = "AKIAQWERTYUIOPASDFGH";
  private static final String LONG_SECRET = "longSecretLongSecretLongSecretLongSecret";
  private static final Caller SESSION = new Caller("arn:aws:sts::111122223333:assumed-role/app/s1", "111122223333",
      "AROAEXAMPLE:s1", TEMP_ID, "AssumedRole");
  private static final Caller USER = new Caller("arn:aws:iam::111122223333:user/alice", "111122223333",
      "AIDAEXAMPLE", LONG_ID, "IAMUser");

  private final Instant now = Instant.now();
  private final MutableClock sessionClock = new MutableClock();
  private final AccessKey temporary = AccessKey.temporary(TEMP_ID, TEMP_SECRET, SESSION, AccessKey.hashToken(TOKEN),
      now.plusSeconds(900));
  private final SigV4Verifier verifier = new SigV4Verifier("sts", List.of("us-east-1"),
      new StaticCredentialStore(List.of(temporary, new AccessKey(LONG_ID, LONG_SECRET, USER))),
      Clock.fixed(now, ZoneOffset.UTC), sessionClock);

  private SigV4VerifierTest.Req sign(AwsCredentialsIdentity identity) {
    byte[] body = "Action=GetCallerIdentity&Version=2011-06-15".getBytes(StandardCharsets.UTF_8);
    SdkHttpRequest request = SdkHttpRequest.builder().method(SdkHttpMethod.POST)
        .uri(URI.create("http://127.0.0.1:8400/"))
        .putHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8").build();
    SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r.identity(identity).request(request)
        .payload(ContentStreamProvider.fromByteArray(body))
        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "sts")
        .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1")
        .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(now, ZoneOffset.UTC))).request();
    return new SigV4VerifierTest.Req(signed, body);
  }

  private void assertRefused(ErrorCode code, SignedRequest r) {
    KmsException e = assertThrows(KmsException.class, () -> verifier.verify(r));
    assertEquals(code, e.code(), e.getMessage());
  }

  @Test
  void verify_temporaryCredentialsWithTheirToken_returnTheSession() {
    assertEquals(SESSION, verifier.verify(sign(AwsSessionCredentialsIdentity.create(TEMP_ID, TEMP_SECRET, TOKEN))));
  }

  @Test
  void verify_temporaryCredentialsWithAnotherToken_failUnrecognizedClient() {
    assertRefused(ErrorCode.UNRECOGNIZED_CLIENT,
        sign(AwsSessionCredentialsIdentity.create(TEMP_ID, TEMP_SECRET, TOKEN + "x")));
  }

  @Test
  void verify_temporaryCredentialsWithoutToken_failUnrecognizedClient() {
    assertRefused(ErrorCode.UNRECOGNIZED_CLIENT, sign(AwsCredentialsIdentity.create(TEMP_ID, TEMP_SECRET)));
  }

  @Test
  void verify_temporaryCredentialsAfterExpiry_failExpiredToken() {
    SigV4VerifierTest.Req r = sign(AwsSessionCredentialsIdentity.create(TEMP_ID, TEMP_SECRET, TOKEN));
    sessionClock.advance(Duration.ofSeconds(900));
    KmsException e = assertThrows(KmsException.class, () -> verifier.verify(r));
    assertEquals(ErrorCode.EXPIRED_TOKEN, e.code());
    assertEquals("The security token included in the request is expired", e.getMessage());
  }

  @Test
  void verify_expiredSessionKeptWithoutSecret_failsExpiredTokenNotSignature() {
    AccessKey kept = AccessKey.temporary(TEMP_ID, null, SESSION, AccessKey.hashToken(TOKEN), now.minusSeconds(1));
    SigV4Verifier v = new SigV4Verifier("sts", List.of("us-east-1"), new StaticCredentialStore(List.of(kept)),
        Clock.fixed(now, ZoneOffset.UTC), Clock.fixed(now, ZoneOffset.UTC));
    KmsException e = assertThrows(KmsException.class,
        () -> v.verify(sign(AwsSessionCredentialsIdentity.create(TEMP_ID, TEMP_SECRET, TOKEN))));
    assertEquals(ErrorCode.EXPIRED_TOKEN, e.code());
  }

  @Test
  void verify_longTermKeyWithAToken_failsUnrecognizedClient() {
    assertRefused(ErrorCode.UNRECOGNIZED_CLIENT,
        sign(AwsSessionCredentialsIdentity.create(LONG_ID, LONG_SECRET, TOKEN)));
  }

  @Test
  void verify_longTermKeyWithoutToken_returnsTheUser() {
    assertEquals(USER, verifier.verify(sign(AwsCredentialsIdentity.create(LONG_ID, LONG_SECRET))));
  }

  @Test
  void verify_tokenHeaderAddedAfterSigning_failsInvalidSignature() {
    SigV4VerifierTest.Req r = sign(AwsCredentialsIdentity.create(TEMP_ID, TEMP_SECRET));
    r.set("x-amz-security-token", TOKEN);
    assertRefused(ErrorCode.INVALID_SIGNATURE, r);
  }

  @Test
  void scopeService_readsTheServiceOfTheCredentialScope() {
    assertEquals("iam", SigV4Verifier.scopeService(
        "AWS4-HMAC-SHA256 Credential=AKIA/20261123/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=ab"));
    assertEquals(null, SigV4Verifier.scopeService(null));
    assertEquals(null, SigV4Verifier.scopeService("Bearer x"));
  }
}
