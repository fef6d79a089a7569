package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.RawHttp;
import io.kmsgw.testing.RawHttp.Answer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.iam.model.AccessKey;
import software.amazon.awssdk.services.iam.model.LimitExceededException;

/**
 * The HTTP front door of the real gateway process (issue #15 items 4, 5 and 7):
 * <ul>
 *   <li>a PutRolePolicy of about 10,000 characters, signed and sent by the unmodified AWS SDK's IAM client, is
 *       accepted (Vert.x's 8 KiB form-field default answered 500 in KMS JSON), and one character over IAM's
 *       10,240 is IAM's XML LimitExceeded; the request log says the status that was sent;</li>
 *   <li>malformed HTTP over raw sockets (an invalid chunk size, HTTP/1.1 without Host, a request line or headers
 *       too long) is answered 400/414/431 with a KMS JSON error, one log line and no stack trace;</li>
 *   <li>anonymous {@code /healthz} is the status alone; {@code /healthz/detail} needs a SigV4 signature and
 *       {@code kms:DescribeCustomKeyStores}, which the administrator has and a new IAM user does not.</li>
 * </ul>
 */
class HttpFrontDoorIT {
  /** IAM's limit on a role's inline policies together, in characters other than whitespace. */
  static final int ROLE_POLICY_CHARS = 10_240;

  private static GatewayProcess gateway;
  private static IamClient iam;

  @BeforeAll
  static void start() {
    gateway = GatewayProcess.start("frontdoor");
    iam = IamClient.builder().endpointOverride(gateway.endpoint()).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
            GatewayProcess.ACCESS_KEY_ID, GatewayProcess.SECRET)))
        .httpClient(UrlConnectionHttpClient.create())
        .overrideConfiguration(ClientOverrideConfiguration.builder().build()).build();
  }

  @AfterAll
  static void stop() {
    if (iam != null) {
      iam.close();
    }
    if (gateway != null) {
      gateway.stop();
    }
  }

  /**
   * An identity policy of exactly {@code chars} characters and no whitespace: statements allowing kms:Encrypt on
   * key ARNs, the last one's Sid padded to the length.
   */
  static String policyOf(int chars) {
    String head = "{\"Version\":\"2012-10-17\",\"Statement\":[";
    String tail = "]}";
    StringBuilder statements = new StringBuilder();
    int n = 0;
    while (true) {
      String s = statement(n, "");
      int sep = statements.length() == 0 ? 0 : 1;
      // keep room for a last statement with a Sid of at least one character
      if (head.length() + statements.length() + sep + s.length() + 1 + statement(n + 1, "S").length()
          + tail.length() > chars) {
        break;
      }
      statements.append(sep == 0 ? "" : ",").append(s);
      n++;
    }
    int sep = statements.length() == 0 ? 0 : 1;
    int room = chars - head.length() - statements.length() - sep - tail.length() - statement(n, "").length();
    // a Sid adds "Sid":"...", (9 characters) around its value
    String last = statement(n, "S" + "0".repeat(room - 9 - 1));
    String policy = head + statements + (sep == 0 ? "" : ",") + last + tail;
    assertEquals(chars, policy.length());
    return policy;
  }

  private static String statement(int i, String sid) {
    return "{" + (sid.isEmpty() ? "" : "\"Sid\":\"" + sid + "\",") + "\"Effect\":\"Allow\",\"Action\":"
        + "\"kms:Encrypt\",\"Resource\":\"arn:aws:kms:us-east-1:111122223333:key/" + String.format("%08d", i)
        + "-0000-4000-8000-000000000000\"}";
  }

  /** The gateway's request log line for a request id, waited for (written when the response has ended). */
  private static String requestLine(String requestId) {
    for (int i = 0; i < 100; i++) {
      for (String l : gateway.logText().split("\n")) {
        if (l.contains(" REQUEST id=" + requestId + " ")) {
          return l;
        }
      }
      GatewayProcess.sleep(50); // the log is written by a background thread
    }
    throw new AssertionError("no request line for " + requestId);
  }

  @Test
  void putRolePolicyOfTenThousandCharacters_isAccepted_andOneOverTheLimitIsIamLimitExceeded() {
    iam.createRole(r -> r.roleName("big-policy").assumeRolePolicyDocument(IdentityIT.TRUST));
    String large = policyOf(10_000);
    var put = iam.putRolePolicy(r -> r.roleName("big-policy").policyName("large").policyDocument(large));
    assertEquals(200, put.sdkHttpResponse().statusCode());
    assertEquals(large, java.net.URLDecoder.decode(iam.getRolePolicy(r -> r.roleName("big-policy")
        .policyName("large")).policyDocument(), StandardCharsets.UTF_8));
    String ok = requestLine(put.responseMetadata().requestId());
    assertTrue(ok.contains(" op=iam:PutRolePolicy status=200 outcome=ok "), ok);

    String atLimit = policyOf(ROLE_POLICY_CHARS);
    iam.putRolePolicy(r -> r.roleName("big-policy").policyName("large").policyDocument(atLimit));
    String over = policyOf(ROLE_POLICY_CHARS + 1);
    LimitExceededException e = assertThrows(LimitExceededException.class,
        () -> iam.putRolePolicy(r -> r.roleName("big-policy").policyName("large").policyDocument(over)));
    assertEquals(409, e.statusCode());
    assertEquals("LimitExceeded", e.awsErrorDetails().errorCode(), "parsed from IAM's XML by the SDK");
    String refused = requestLine(e.requestId());
    assertTrue(refused.contains(" op=iam:PutRolePolicy status=409 outcome=LimitExceeded "), refused);
  }

  private static Answer raw(String request) throws IOException {
    return RawHttp.exchange(gateway.port(), request);
  }


  /** The answer is the KMS JSON error, and the log has its one request line and no stack trace or SEVERE line. */
  private static void assertMalformed(String request, int status, String type) throws IOException {
    int logBefore = gateway.logText().length();
    Answer a = raw(request);
    assertEquals(status, a.status(), a.body());
    assertEquals("application/x-amz-json-1.1", a.headers().get("content-type"));
    JsonObject body = new JsonObject(a.body());
    assertEquals(type, body.getString("__type"));
    assertFalse(body.getString("message").isBlank());
    String line = requestLine(a.headers().get("x-amzn-requestid"));
    assertTrue(line.contains(" status=" + status + " outcome=" + type + " "), line);
    String logged = gateway.logText().substring(logBefore);
    assertFalse(logged.contains("SEVERE") || logged.contains("\tat ") || logged.contains("Exception\n"),
        "no stack trace or SEVERE line for a client's malformed request:\n" + logged);
  }

  @Test
  void invalidChunkSize_is400_withAKmsJsonError_andNoStackTrace() throws IOException {
    assertMalformed("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        + "Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.ListKeys\r\n\r\n"
        + "not-hex\r\n{}\r\n0\r\n\r\n", 400, "MalformedHttpRequestException");
  }

  @Test
  void http11RequestWithoutHost_is400_withAKmsJsonError_andNoStackTrace() throws IOException {
    assertMalformed("POST / HTTP/1.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
        + "X-Amz-Target: TrentService.ListKeys\r\nContent-Length: 2\r\n\r\n{}", 400, "MalformedHttpRequestException");
  }

  @Test
  void tooLongRequestLine_is414_andTooLargeHeaders_are431_withKmsJsonErrors() throws IOException {
    assertMalformed("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414,
        "RequestUriTooLongException");
    assertMalformed("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + "a".repeat(9000) + "\r\n\r\n", 431,
        "RequestHeaderFieldsTooLargeException");
  }

  @Test
  void healthz_anonymous_isTheStatusAlone() throws Exception {
    RawClient.Response r = new RawClient(gateway.endpoint()).get("/healthz");
    assertEquals(200, r.status());
    assertEquals(new JsonObject().put("status", "ok"), new JsonObject(r.body()));
    assertFalse(r.body().contains("softhsm") || r.body().contains("pool"), r.body());
  }

  @Test
  void healthzDetail_needsASignatureAndDescribeCustomKeyStores() throws Exception {
    RawClient raw = new RawClient(gateway.endpoint());
    RawClient.Response unsigned = raw.get("/healthz/detail");
    assertEquals(403, unsigned.status());
    assertEquals("MissingAuthenticationTokenException", new JsonObject(unsigned.body()).getString("__type"));

    iam.createUser(r -> r.userName("health-reader"));
    AccessKey key = iam.createAccessKey(r -> r.userName("health-reader")).accessKey();
    RawClient.Response denied = raw.signedGet("/healthz/detail", key.accessKeyId(), key.secretAccessKey());
    assertEquals(400, denied.status(), denied.body());
    JsonObject refusal = new JsonObject(denied.body());
    assertEquals("AccessDeniedException", refusal.getString("__type"));
    assertTrue(refusal.getString("message").contains("kms:DescribeCustomKeyStores"), denied.body());
    assertFalse(denied.body().contains("pool"), denied.body());

    RawClient.Response admin = raw.healthDetail();
    assertEquals(200, admin.status(), admin.body());
    JsonObject doc = new JsonObject(admin.body());
    assertEquals("ok", doc.getString("status"));
    assertEquals("CONNECTED", doc.getString("state"));
    assertTrue(doc.getJsonObject("pool").getInteger("size") > 0, admin.body());
    assertEquals("WRITABLE", doc.getJsonObject("audit").getString("state"));
  }
}
