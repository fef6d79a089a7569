package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.Tmpfs;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * The audit trail against the real gateway process (issue #15 item 2 and "Make it stay fixed"): a flood of unsigned
 * requests costs a couple of events, not one each; and a full disk under the audit directory (a tmpfs, needs root)
 * refuses requests with an AWS-shaped error naming the audit trail, loses no acknowledged request's event, and the
 * gateway takes requests again once space returns, without a restart, with a chain that verifies across the gap.
 */
class AuditDiskFullIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void unsignedFlood_isOneEventAndACount_notAnEventEach() throws Exception {
    try (GatewayProcess g = GatewayProcess.start("audit-flood")) {
      for (int i = 0; i < 300; i++) {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(g.endpoint())
            .header("X-Amz-Target", "TrentService.Encrypt").header("Content-Type", "application/x-amz-json-1.1")
            .POST(HttpRequest.BodyPublishers.ofString("{\"KeyId\":\"alias/x\",\"Plaintext\":\"aGk=\"}")).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(403, r.statusCode(), r.body());
        assertTrue(r.body().contains("MissingAuthenticationTokenException"), r.body());
      }
      g.stop(); // the summary of the open minute is written at shutdown
      List<JsonObject> events = events(g.dataDir().resolve("audit"));
      List<JsonObject> refused = events.stream().filter(e -> "Encrypt".equals(e.getString("eventName"))).toList();
      List<JsonObject> summaries = events.stream()
          .filter(e -> "KmsgwUnauthenticatedRequests".equals(e.getString("eventName"))).toList();
      // the minute may have turned during the flood: then two of each
      assertTrue(refused.size() >= 1 && refused.size() <= 2, refused.toString());
      assertTrue(summaries.size() >= 1 && summaries.size() <= 2, summaries.toString());
      long counted = summaries.stream().mapToLong(s -> s.getJsonObject("serviceEventDetails")
          .getJsonObject("bySource").getLong("127.0.0.1")).sum();
      assertEquals(300, refused.size() + counted, "each refusal is an event or a count: " + summaries);
    }
  }

  @Test
  void fullAuditDisk_refusesRequests_losesNoAcknowledgedOne_andRecoversWithoutRestart() throws Exception {
    Tmpfs.assumeRoot("AuditDiskFullIT");
    List<Path> mounts = new ArrayList<>();
    GatewayProcess g = GatewayProcess.start("audit-full", dataDir -> {
      Path audit = dataDir.resolve("audit");
      try {
        Tmpfs.mountOrSkip(audit, "4m", "AuditDiskFullIT");
      } catch (org.opentest4j.TestAbortedException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      mounts.add(audit);
      // small files, so that rotation happens while the disk is full too
      return Map.of("KMSGW_AUDIT_MAX_FILE_MB", "1", "KMSGW_AUDIT_PREALLOCATE_MB", "1");
    }, dataDir -> List.of());
    try {
      Path audit = g.dataDir().resolve("audit");
      Set<String> acked = new HashSet<>();
      try (KmsClient kms = g.client()) {
        String key = kms.createKey(r -> r.description("disk full")).keyMetadata().keyId();
        Path filler = audit.resolve("filler");
        Tmpfs.fill(filler);
        int refused = 0;
        // the file being written has up to 1 MiB of zeros ahead (pre-allocation), rotation at 1 MiB: requests go on
        // being served until those are used up and the next file cannot be created; then they are refused
        for (int i = 0; i < 5000 && refused < 10; i++) {
          try {
            EncryptResponse r = kms.encrypt(e -> e.keyId(key).plaintext(SdkBytes.fromUtf8String("hello")));
            acked.add(r.responseMetadata().requestId());
          } catch (KmsException e) {
            assertEquals("KMSInternalException", e.awsErrorDetails().errorCode(), e.toString());
            assertTrue(e.awsErrorDetails().errorMessage().contains("could not be recorded in the audit trail"),
                e.awsErrorDetails().errorMessage());
            refused++;
          }
        }
        assertTrue(refused > 0, "nothing was refused on a full disk");

        Files.delete(filler);
        // space is back: no restart; the first request may meet the end of a write that failed, not more
        for (int i = 0; i < 100; i++) {
          EncryptResponse r = kms.encrypt(e -> e.keyId(key).plaintext(SdkBytes.fromUtf8String("again")));
          acked.add(r.responseMetadata().requestId());
        }
      }
      g.stop(); // verifies the trail (GatewayProcess.verifyAudit)
      Set<String> present = new HashSet<>();
      for (JsonObject e : events(audit)) {
        present.add(e.getString("requestID"));
      }
      Set<String> lost = new HashSet<>(acked);
      lost.removeAll(present);
      assertEquals(Set.of(), lost, "acknowledged requests without their audit event");
      io.kmsgw.audit.AuditVerifier.Report r = io.kmsgw.audit.AuditVerifier.verify(audit, Set.of());
      assertEquals(0, r.exitCode(), r.problems() + " " + r.notCovered());
      assertFalse(g.logText().contains("the writer failed"), "the audit writer died");
    } finally {
      g.kill();
      for (Path m : mounts) {
        Tmpfs.unmount(m);
      }
    }
  }

  private static List<JsonObject> events(Path dir) throws IOException {
    List<JsonObject> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
          JsonObject o = new JsonObject(line.replace("\0", "")).getJsonObject("event");
          if (o != null) {
            out.add(o);
          }
        }
      }
    }
    return out;
  }
}
