package io.kmsgw.audit;

import static io.kmsgw.audit.AuditTesting.event;
import static io.kmsgw.audit.AuditTesting.settings;
import static io.kmsgw.audit.AuditTesting.verify;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.MutableClock;
import io.kmsgw.testing.TestToken;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AuditLogTest {
  private final SoftwareSigner signer = new SoftwareSigner();

  @Test
  void concurrentAppenders_shareFsyncs_andEveryFutureCompletes() throws Exception {
    Path dir = TestToken.scratch("audit-group");
    int threads = 16;
    int each = 300;
    AuditLog.Stats stats;
    AuditLog closed;
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), signer, List.of())) {
      closed = log;
      assertTrue(log.writable());
      assertEquals("WRITABLE", log.health().get("state"));
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<CompletableFuture<Void>> all = new CopyOnWriteArrayList<>();
      for (int t = 0; t < threads; t++) {
        int base = t * each;
        pool.execute(() -> {
          for (int i = 0; i < each; i++) {
            CompletableFuture<Void> f = log.append(event(base + i));
            all.add(f);
            // a request waits for its event before it answers; several requests are in flight at once
            if (i % 4 == 3) {
              f.join();
            }
          }
        });
      }
      pool.shutdown();
      assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      assertEquals(threads * each, all.size());
      stats = log.stats();
    }
    assertFalse(closed.writable(), "a closed trail takes no events (and /healthz says so)");
    assertEquals("CLOSED", closed.health().get("state"));
    assertEquals(0L, closed.health().get("failedWrites"));
    assertEquals(LatencyBuckets.above(closed.durableWriteMillis(), 10), closed.health().get("slowWriteMillis"),
        "/healthz shows the slow writes only, not how many writes (requests) there were");
    assertFalse(closed.health().containsKey("fsyncs"));
    long timed = closed.durableWriteMillis().values().stream().mapToLong(Long::longValue).sum();
    assertEquals(closed.stats().fsyncs(), timed, "every durable write is timed once: "
        + closed.durableWriteMillis());
    assertTrue(timed >= stats.fsyncs());
    assertEquals(threads * each + 1, stats.records(), "every event and the file header");
    assertTrue(stats.fsyncs() < threads * each / 2, "group commit shares fsyncs: " + stats.fsyncs() + " for "
        + threads * each + " events");
    AuditVerifier.Report r = verify(dir);
    assertEquals(0, r.exitCode(), r.problems() + " " + r.notCovered());
    assertEquals(stats.records() + stats.digests() + 1, r.records(), "events, the header, the digests and the "
        + "one written at close");
    assertTrue(stats.digests() >= 4, "a digest after every 1000 lines or more, and at close: " + stats.digests());
  }

  @Test
  void restart_continuesTheChainInTheSameFile() throws Exception {
    Path dir = TestToken.scratch("audit-restart");
    for (int run = 0; run < 3; run++) {
      try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), signer, List.of())) {
        for (int i = 0; i < 5; i++) {
          log.append(event(i)).join();
        }
      }
    }
    Path file = AuditTesting.only(dir);
    List<String> lines = AuditTesting.lines(file);
    assertEquals(1 + 3 * (5 + 1), lines.size());
    for (int i = 0; i < lines.size(); i++) {
      assertEquals(i + 1, AuditRecords.quickSeq(lines.get(i)));
    }
    assertEquals(0, verify(dir).exitCode());
  }

  @Test
  void tornLastLine_isCutOffAtRestart_andRecordedAsAServiceEvent() throws Exception {
    Path dir = TestToken.scratch("audit-torn");
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), DigestSigner.NONE, List.of())) {
      for (int i = 0; i < 5; i++) {
        log.append(event(i)).join();
      }
    }
    Path file = AuditTesting.only(dir);
    // a crash in the middle of a write: part of a line, no newline
    String torn = "{\"kmsgw\":{\"seq\":7,\"prev\":\"00";
    Files.writeString(file, torn, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    AuditTesting.assertTruncatedInsideLine(dir, 7);

    JsonObject details = AuditTesting.restartAndReadRepair(dir, signer, file);
    assertEquals(torn.length(), details.getInteger("removedBytes"));
    assertEquals(Hashes.sha256Hex(torn.getBytes(StandardCharsets.UTF_8)), details.getString("removedSha256"));
    AuditVerifier.Report after = verify(dir);
    assertEquals(0, after.exitCode(), after.problems().toString());
  }

  @Test
  void withoutTheSigningKey_eventsAreChained_andDigestsWait() throws Exception {
    Path dir = TestToken.scratch("audit-nosigner");
    signer.ready.set(false);
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), signer, List.of())) {
      for (int i = 0; i < 5; i++) {
        log.append(event(i)).join();
      }
      assertThrows(CompletionException.class, () -> log.digestNow().join());
      assertEquals(6, log.stats().notCovered());
      signer.ready.set(true);
      log.digestNow().join();
      assertEquals(0, log.stats().notCovered());
      log.append(event(5)).join();
      signer.ready.set(false);
    }
    AuditVerifier.Report r = verify(dir);
    assertEquals(List.of(), r.problems());
    assertEquals(2, r.exitCode());
    assertTrue(r.notCovered().startsWith("seq 8..8 (1 records"), r.notCovered());
  }

  @Test
  void aDigestEveryNLines_andItsSignatureVerifiesWithTheJdkFromItsOwnPublicKey() throws Exception {
    Path dir = TestToken.scratch("audit-every-n");
    AuditLog.Settings s = new AuditLog.Settings(dir, 64L << 20, 0, 10, Duration.ofHours(1), "111122223333",
        "us-east-1");
    try (AuditLog log = AuditLog.open(s, Clock.systemUTC(), signer, List.of())) {
      // one at a time: a digest is written between group commits, once 10 lines wait for one
      for (int i = 0; i < 45; i++) {
        log.append(event(i)).join();
      }
    }
    List<String> digests = AuditTesting.lines(AuditTesting.only(dir)).stream()
        .filter(l -> l.contains("},\"digest\":{")).toList();
    assertTrue(digests.size() >= 4, digests.size() + " digests");
    for (String line : digests) {
      JsonObject d = new JsonObject(line).getJsonObject("digest");
      byte[] spki = Base64.getDecoder().decode(d.getString("publicKey"));
      Signature v = Signature.getInstance("SHA256withECDSA");
      v.initVerify(KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(spki)));
      v.update(line.substring(0, line.lastIndexOf(",\"signature\":\"")).getBytes(StandardCharsets.UTF_8));
      assertTrue(v.verify(Base64.getDecoder().decode(new JsonObject(line).getString("signature"))));
    }
    assertEquals(0, verify(dir).exitCode());
  }

  @Test
  void rotationBySize_startsFilesAnchoredByADigest() throws Exception {
    Path dir = TestToken.scratch("audit-size");
    AuditLog.Settings s = new AuditLog.Settings(dir, 4096, 0, 1000, Duration.ofHours(1), "111122223333",
        "us-east-1");
    try (AuditLog log = AuditLog.open(s, Clock.systemUTC(), signer, List.of())) {
      for (int i = 0; i < 40; i++) {
        log.append(event(i)).join();
      }
    }
    List<AuditFiles.Entry> files = AuditFiles.list(dir);
    assertTrue(files.size() >= 3, files.toString());
    for (int i = 1; i < files.size(); i++) {
      JsonObject header = new JsonObject(AuditTesting.lines(files.get(i).path()).get(0)).getJsonObject("file");
      List<String> previous = AuditTesting.lines(files.get(i - 1).path());
      assertEquals(previous.get(previous.size() - 1), header.getString("anchor"));
      assertEquals(files.get(i - 1).name(), header.getString("previousFile"));
    }
    assertEquals(0, verify(dir).exitCode());

    // a whole file in the middle deleted
    Files.delete(files.get(1).path());
    AuditVerifier.Report r = verify(dir);
    assertEquals(1, r.exitCode());
    assertTrue(r.firstProblem().message().contains("missing after seq"), r.firstProblem().toString());
    assertTrue(r.firstProblem().message().endsWith(files.get(1).name() + ", is missing"), r.firstProblem().toString());
    assertEquals(files.get(2).name(), r.firstProblem().where().file());
  }

  @Test
  void newUtcDay_startsANewFile_andRetentionRemovesOldFilesLeavingAnAnchoredChain() throws Exception {
    Path dir = TestToken.scratch("audit-days");
    MutableClock clock = new MutableClock();
    AuditLog.Settings s = new AuditLog.Settings(dir, 64L << 20, 3, 1000, Duration.ofHours(1), "111122223333",
        "us-east-1");
    try (AuditLog log = AuditLog.open(s, clock, signer, List.of())) {
      for (int day = 0; day < 6; day++) {
        for (int i = 0; i < 3; i++) {
          log.append(event(i)).join();
        }
        clock.advance(Duration.ofDays(1));
      }
      // rotation happens after the next batch or within a second of the day changing
      log.append(event(99)).join();
    }
    List<AuditFiles.Entry> files = AuditFiles.list(dir);
    assertTrue(files.size() <= 5, "old days removed: " + files);
    assertFalse(files.get(0).name().endsWith("-001.jsonl") && files.size() == 7);
    AuditVerifier.Report r = verify(dir);
    assertEquals(0, r.exitCode(), r.problems() + " " + r.notCovered());
    assertTrue(r.notes().stream().anyMatch(n -> n.startsWith("the chain starts at seq ")), r.notes().toString());
    // with the anchored first file's header removed, the start is no longer vouched for
    Path first = files.get(0).path();
    List<String> lines = AuditTesting.lines(first);
    lines.remove(0);
    AuditTesting.writeLines(first, lines);
    assertEquals(1, verify(dir).exitCode());
  }

  @Test
  void sinks_getEveryLineAfterItIsDurable() throws Exception {
    Path dir = TestToken.scratch("audit-sink");
    List<String> seen = new CopyOnWriteArrayList<>();
    AuditSink sink = new AuditSink() {
      @Override
      public void accept(List<String> lines) {
        seen.addAll(lines);
      }

      @Override
      public long dropped() {
        return 0;
      }
    };
    try (AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), signer, List.of(sink))) {
      log.append(event(1)).join();
    }
    assertEquals(AuditTesting.lines(AuditTesting.only(dir)), seen);
  }

  @Test
  void noSecretOfTheRequest_appearsInAnyAuditFile() throws Exception {
    Path dir = TestToken.scratch("audit-secrets");
    AuditTesting.writeLog(dir, signer, 3);
    String all = Files.readString(AuditTesting.only(dir));
    // AuditTesting.event puts the base64 Plaintext "c2VjcmV0" ("secret") in the request
    assertFalse(all.contains("c2VjcmV0"));
    assertFalse(all.toLowerCase(java.util.Locale.ROOT).contains("plaintext"));
    assertTrue(all.contains("\"encryptionContext\":{\"n\":\"2\"}"));
  }

  @Test
  void appendAfterClose_fails() throws Exception {
    Path dir = TestToken.scratch("audit-closed");
    AuditLog log = AuditLog.open(settings(dir), Clock.systemUTC(), signer, List.of());
    log.close();
    CompletionException e = assertThrows(CompletionException.class, () -> log.append(event(1)).join());
    assertNotNull(e.getCause());
    assertTrue(e.getCause() instanceof AuditException);
    assertNull(verify(dir).notCovered());
  }
}
