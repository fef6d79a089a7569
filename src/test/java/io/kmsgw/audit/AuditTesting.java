package io.kmsgw.audit;

import io.kmsgw.domain.Caller;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Shared helpers of the audit tests. */
final class AuditTesting {
  static final Caller USER = new Caller("arn:aws:iam::111122223333:user/app", "111122223333", "AIDAAPP",
      "AKIAAPP", "IAMUser");

  private AuditTesting() {}

  static AuditLog.Settings settings(Path dir) {
    return new AuditLog.Settings(dir, 64L << 20, 0, 1000, Duration.ofSeconds(60), "111122223333", "us-east-1");
  }

  static JsonObject event(int n) {
    return AuditEvent.apiCall("Encrypt")
        .time(Instant.parse("2025-01-01T00:00:00Z"))
        .caller(USER)
        .region("us-east-1")
        .sourceIp("127.0.0.1")
        .userAgent("test")
        .requestParameters(new JsonObject().put("KeyId", "alias/test").put("Plaintext", "c2VjcmV0")
            .put("EncryptionContext", new JsonObject().put("n", Integer.toString(n))))
        .requestId("req-" + n)
        .key("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        .build();
  }

  /** A log of {@code events} events and a final digest (written at close). */
  static Path writeLog(Path dir, DigestSigner signer, int events) throws IOException {
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), signer, List.of())) {
      for (int i = 0; i < events; i++) {
        log.append(event(i)).join();
      }
    }
    return only(dir);
  }

  static Path only(Path dir) throws IOException {
    List<AuditFiles.Entry> files = AuditFiles.list(dir);
    if (files.size() != 1) {
      throw new IllegalStateException("expected one audit file, found " + files);
    }
    return files.get(0).path();
  }

  static List<String> lines(Path file) throws IOException {
    return new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
  }

  static void writeLines(Path file, List<String> lines) throws IOException {
    Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
  }

  /** Checks that the verifier reports the file cut short inside line {@code line}, as a crash leaves it. */
  static void assertTruncatedInsideLine(Path dir, int line) throws IOException {
    AuditVerifier.Report r = verify(dir);
    org.junit.jupiter.api.Assertions.assertEquals(1, r.exitCode());
    org.junit.jupiter.api.Assertions.assertTrue(r.firstProblem().message().startsWith("file truncated inside line "
        + line), r.firstProblem().toString());
  }

  /**
   * Restarts the trail in {@code dir} after a crash left {@code file} with 6 complete lines, records one event and
   * stops; checks that the 7th line is the repair event and returns its details.
   */
  static JsonObject restartAndReadRepair(Path dir, DigestSigner signer, Path file) throws IOException {
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), signer, List.of())) {
      log.append(event(9)).join();
    }
    List<String> lines = lines(file);
    JsonObject repair = new JsonObject(lines.get(6)).getJsonObject("event");
    org.junit.jupiter.api.Assertions.assertEquals("KmsgwAuditLogRepaired", repair.getString("eventName"));
    org.junit.jupiter.api.Assertions.assertEquals("AwsServiceEvent", repair.getString("eventType"));
    org.junit.jupiter.api.Assertions.assertEquals(7L, AuditRecords.quickSeq(lines.get(6)));
    return repair.getJsonObject("serviceEventDetails");
  }

  static AuditVerifier.Report verify(Path dir) throws IOException {
    return AuditVerifier.verify(dir, Set.of());
  }
}
