package io.kmsgw.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.MutableClock;
import io.kmsgw.testing.TestToken;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Unauthenticated refusals cannot fill the disk (issue #15 item 2): per source and minute the first is recorded, the
 * rest are counted into one summary event per minute, at most 100 sources by name.
 */
class UnauthenticatedRefusalsTest {
  private static AuditEvent.Builder refused(String ip, int n) {
    return AuditEvent.apiCall("Encrypt").time(Instant.now()).region("us-east-1").sourceIp(ip)
        .requestId("refused-" + ip + "-" + n).error("IncompleteSignatureException", "no signature");
  }

  @Test
  void aFloodOfRefusals_isTheFirstPerSourceAndMinute_plusOneSummaryWithTheCounts() throws Exception {
    Path dir = TestToken.scratch("audit-refusals");
    MutableClock clock = MutableClock.at(Instant.parse("2026-03-01T12:00:05Z"));
    SoftwareSigner signer = new SoftwareSigner();
    try (AuditLog log = AuditLog.open(AuditTesting.settings(dir), Clock.systemUTC(), signer, List.of())) {
      UnauthenticatedRefusals refusals = new UnauthenticatedRefusals(log, clock, "us-east-1", "111122223333",
          false);
      for (int i = 0; i < 5000; i++) {
        refusals.record("10.0.0.1", () -> refused("10.0.0.1", 0)).toCompletableFuture().join();
      }
      for (int i = 0; i < 3; i++) {
        refusals.record("10.0.0.2", () -> refused("10.0.0.2", 0)).toCompletableFuture().join();
      }
      // 150 more sources: the first 98 of them by name (100 in all), the rest under "other"
      for (int s = 0; s < 150; s++) {
        for (int i = 0; i < 2; i++) {
          String ip = "10.1.0." + s;
          refusals.record(ip, () -> refused(ip, 0)).toCompletableFuture().join();
        }
      }
      refusals.flushDue(); // still the same minute: nothing yet
      clock.advance(Duration.ofSeconds(55)); // 12:01:00, the next minute
      refusals.flushDue();
      // the next minute starts afresh: its first refusal is recorded again
      refusals.record("10.0.0.1", () -> refused("10.0.0.1", 1)).toCompletableFuture().join();
      refusals.record("10.0.0.1", () -> refused("10.0.0.1", 1)).toCompletableFuture().join();
      // closing the log writes the open minute's summary
    }

    List<JsonObject> events = new ArrayList<>();
    for (String l : AuditTesting.lines(AuditTesting.only(dir))) {
      if (l.contains("},\"event\":{")) {
        events.add(new JsonObject(l).getJsonObject("event"));
      }
    }
    List<JsonObject> individual = events.stream().filter(e -> "Encrypt".equals(e.getString("eventName"))).toList();
    List<JsonObject> summaries = events.stream()
        .filter(e -> UnauthenticatedRefusals.EVENT.equals(e.getString("eventName"))).toList();
    assertEquals(100 + 1, individual.size(), "100 sources recorded individually in the first minute, 1 in the second");
    assertEquals(2, summaries.size(), summaries.toString());

    JsonObject first = summaries.get(0).getJsonObject("serviceEventDetails");
    assertEquals("AwsServiceEvent", summaries.get(0).getString("eventType"));
    assertEquals("2026-03-01T12:00:00Z", first.getString("minute"));
    JsonObject bySource = first.getJsonObject("bySource");
    assertEquals(4999L, bySource.getLong("10.0.0.1"));
    assertEquals(2L, bySource.getLong("10.0.0.2"));
    assertEquals(1L, bySource.getLong("10.1.0.0"));
    assertEquals(101, bySource.size(), "100 sources by name and other: " + bySource.fieldNames());
    // sources 98..149 had no individual record: both of their refusals are counted under other
    assertEquals(52L * 2, bySource.getLong(UnauthenticatedRefusals.OTHER));
    assertEquals(4999L + 2 + 98 + 104, first.getLong("refusedNotRecordedIndividually"));
    assertEquals(100L, first.getLong("recordedIndividually"));

    JsonObject second = summaries.get(1).getJsonObject("serviceEventDetails");
    assertEquals("2026-03-01T12:01:00Z", second.getString("minute"));
    assertEquals(1L, second.getJsonObject("bySource").getLong("10.0.0.1"));

    AuditVerifier.Report r = AuditVerifier.verify(dir, java.util.Set.of(signer.fingerprint()));
    assertEquals(0, r.exitCode(), r.problems().toString());
    assertTrue(r.records() < 120, "a flood of 5,300 refusals took " + r.records() + " lines");
  }
}
