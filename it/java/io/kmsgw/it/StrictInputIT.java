package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.iam.model.IamException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * Issue #15 items 6 and 8 against the real gateway process started by {@code ./kmsgw serve}: ill-formed UTF-8 and
 * non-canonical base64 are refused with SerializationException (raw signed requests: no SDK sends such bytes); a
 * too-long number says so; a KeyId holding a careless client's secret (sent by the AWS SDK) is refused and never
 * reaches the audit trail verbatim; and every file of the data directory is owner-only.
 */
class StrictInputIT {
  private static final String SECRET_TEXT = "the-payroll-database-password-is-hunter2 ";
  private static GatewayProcess gateway;
  private static RawClient raw;
  private static String keyId;

  @BeforeAll
  static void start() {
    gateway = GatewayProcess.start("strict-input");
    raw = new RawClient(gateway.endpoint());
    try (KmsClient kms = gateway.client()) {
      keyId = kms.createKey(r -> r.description("strict input")).keyMetadata().keyId();
    }
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  private static byte[] encryptWithContextValue(byte[] value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(("{\"KeyId\":\"" + keyId + "\",\"Plaintext\":\"aGk=\",\"EncryptionContext\":{\"a\":\"")
        .getBytes(StandardCharsets.UTF_8));
    out.writeBytes(value);
    out.writeBytes("\"}}".getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  private static void assertSerialization(RawClient.Response r, String messagePart) {
    assertEquals(400, r.status(), r.body());
    JsonObject body = new JsonObject(r.body());
    assertEquals("SerializationException", body.getString("__type"), r.body());
    assertTrue(body.getString("message").contains(messagePart), r.body());
  }

  @Test
  void overlongSlashInTheContext_isRefused_whileARealSlashEncrypts() throws Exception {
    assertEquals(200, raw.signed("TrentService.Encrypt", encryptWithContextValue(new byte[] {'/'})).status());
    assertSerialization(raw.signed("TrentService.Encrypt",
        encryptWithContextValue(new byte[] {(byte) 0xC0, (byte) 0xAF})), "not well-formed UTF-8");
    assertSerialization(raw.signed("TrentService.Encrypt",
        encryptWithContextValue(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80})), "not well-formed UTF-8");
  }

  @Test
  void nonCanonicalBase64_isRefused() throws Exception {
    for (String plaintext : List.of("aGk", "aGl=", "aG k=")) {
      assertSerialization(raw.signed("TrentService.Encrypt", "{\"KeyId\":\"" + keyId + "\",\"Plaintext\":\""
          + plaintext + "\"}"), "canonical padded base64");
    }
    assertEquals(200, raw.signed("TrentService.Encrypt", "{\"KeyId\":\"" + keyId + "\",\"Plaintext\":\"aGk=\"}")
        .status());
  }

  @Test
  void hundredThousandDigitNumber_saysTheNumberIsTooLong() throws Exception {
    assertSerialization(raw.signed("TrentService.GenerateRandom", "{\"NumberOfBytes\":" + "7".repeat(100_000)
        + "}"), "a number is longer than 1000 characters");
  }

  @Test
  void secretPutInKeyId_isRefused_andNeverWrittenToTheAuditTrail() throws Exception {
    String careless = SECRET_TEXT.repeat(60); // over KeyId's 2048 characters
    try (KmsClient kms = gateway.client()) {
      KmsException e = assertThrows(KmsException.class, () -> kms.encrypt(r -> r.keyId(careless)
          .plaintext(SdkBytes.fromUtf8String("x"))));
      assertEquals("ValidationException", e.awsErrorDetails().errorCode());
    }
    String trail = auditText();
    assertFalse(trail.contains("hunter2"), "the refused KeyId is in the audit trail");
    assertTrue(trail.contains("\"keyId\":{\"failedValidation\":true,\"type\":\"string\",\"bytes\":"
        + careless.length() + ",\"hmacSha256\":\""), "the refused request is recorded, with a marker");
  }

  @Test
  void iamParametersOfARefusedRequest_areNotWrittenVerbatim() throws Exception {
    String careless = "iam user hunter3 password " + "x".repeat(40); // spaces: outside UserName's pattern
    try (IamClient iam = IamClient.builder().endpointOverride(gateway.endpoint()).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(GatewayProcess.ACCESS_KEY_ID, GatewayProcess.SECRET)))
        .httpClient(UrlConnectionHttpClient.create()).build()) {
      IamException e = assertThrows(IamException.class, () -> iam.createUser(r -> r.userName(careless)));
      assertEquals(400, e.statusCode());
    }
    String trail = auditText();
    assertFalse(trail.contains("hunter3"), "the refused UserName is in the audit trail");
    assertTrue(trail.contains("\"userName\":{\"failedValidation\":true,\"type\":\"string\",\"bytes\":"
        + careless.length()), "the refused IAM request is recorded, with a marker");
  }

  /** The audit files' text up to their pre-allocated zeros (docs/audit.md). */
  private static String auditText() throws Exception {
    StringBuilder sb = new StringBuilder();
    try (Stream<Path> files = Files.list(gateway.dataDir().resolve("audit"))) {
      for (Path f : (Iterable<Path>) files::iterator) {
        byte[] b = Files.readAllBytes(f);
        int end = 0;
        while (end < b.length && b[end] != 0) {
          end++;
        }
        sb.append(new String(b, 0, end, StandardCharsets.UTF_8));
      }
    }
    return sb.toString();
  }

  @Test
  void everyFileOfTheDataDirectory_isOwnerOnly() throws Exception {
    List<String> loose = new ArrayList<>();
    try (Stream<Path> all = Files.walk(gateway.dataDir())) {
      for (Path p : (Iterable<Path>) all::iterator) {
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
        if (!mode.endsWith("------")) {
          loose.add(gateway.dataDir().relativize(p) + " " + mode);
        }
      }
    }
    assertEquals(List.of(), loose);
  }
}
