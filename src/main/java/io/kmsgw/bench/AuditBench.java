package io.kmsgw.bench;

import io.kmsgw.audit.AuditEvent;
import io.kmsgw.audit.AuditLog;
import io.kmsgw.audit.DigestSigner;
import io.kmsgw.domain.Caller;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * The cost of the audit trail's durability, in process: appenders each write an Encrypt-sized event and wait for its
 * future (line written and fsynced), as a request does before it answers. Reported at 1 and 32 concurrent appenders:
 * events/s, latency percentiles, and fsyncs (group commit shares one among concurrent appenders). Digests are signed
 * with a software P-256 key here; in the gateway the HSM signs one per 1000 events (about a millisecond on SoftHSM2).
 */
final class AuditBench {
  private AuditBench() {}

  static JsonObject run(Path dir, long millisPerCase) throws IOException, InterruptedException {
    JsonArray cases = new JsonArray();
    for (int appenders : new int[] {1, 32}) {
      cases.add(measure(dir.resolve("appenders-" + appenders), appenders, millisPerCase));
    }
    return new JsonObject().put("cases", cases);
  }

  private static JsonObject measure(Path dir, int appenders, long millis) throws IOException, InterruptedException {
    AuditLog.Settings settings = new AuditLog.Settings(dir, 64L << 20, 0, 1000, Duration.ofSeconds(60),
        "111122223333", "us-east-1");
    Caller caller = new Caller("arn:aws:iam::111122223333:user/bench", "111122223333", "AIDABENCH", "AKIABENCH",
        "IAMUser");
    // appended as the gateway appends: written from the builder every time
    AuditEvent.Builder event = AuditEvent.apiCall("Encrypt").time(Instant.now()).caller(caller).region("us-east-1")
        .sourceIp("127.0.0.1").userAgent("kmsgw-bench").requestId("00000000-0000-0000-0000-000000000000")
        .requestParameters(new JsonObject().put("KeyId", "arn:aws:kms:us-east-1:111122223333:key/"
            + "1234abcd-12ab-34cd-56ef-1234567890ab").put("EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
            .put("EncryptionContext", new JsonObject().put("purpose", "benchmark")))
        .key("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    long[][] latencies = new long[appenders][];
    int[] counts = new int[appenders];
    AuditLog.Stats stats;
    long elapsed;
    try (AuditLog log = AuditLog.open(settings, Clock.systemUTC(), softwareSigner(), List.of())) {
      // warm-up
      for (int i = 0; i < 200; i++) {
        log.append(event).join();
      }
      AuditLog.Stats before = log.stats();
      long start = System.nanoTime();
      long deadline = start + millis * 1_000_000L;
      Thread[] threads = new Thread[appenders];
      for (int t = 0; t < appenders; t++) {
        int me = t;
        threads[t] = new Thread(() -> {
          long[] lat = new long[1 << 16];
          int n = 0;
          while (System.nanoTime() < deadline) {
            long t0 = System.nanoTime();
            log.append(event).join();
            if (n == lat.length) {
              lat = Arrays.copyOf(lat, n * 2);
            }
            lat[n++] = System.nanoTime() - t0;
          }
          latencies[me] = lat;
          counts[me] = n;
        });
        threads[t].start();
      }
      for (Thread t : threads) {
        t.join();
      }
      elapsed = System.nanoTime() - start;
      AuditLog.Stats after = log.stats();
      stats = new AuditLog.Stats(after.records() - before.records(), after.fsyncs() - before.fsyncs(),
          after.digests() - before.digests(), 0, after.lastSeq(), after.notCovered(), 0);
    }
    int total = Arrays.stream(counts).sum();
    long[] all = new long[total];
    int at = 0;
    for (int t = 0; t < appenders; t++) {
      System.arraycopy(latencies[t], 0, all, at, counts[t]);
      at += counts[t];
    }
    Arrays.sort(all);
    return new JsonObject()
        .put("appenders", appenders)
        .put("events", total)
        .put("events_per_second", total / (elapsed / 1e9))
        .put("p50_ms", percentile(all, 0.50))
        .put("p99_ms", percentile(all, 0.99))
        .put("fsyncs", stats.fsyncs())
        .put("events_per_fsync", stats.fsyncs() == 0 ? 0 : (double) total / stats.fsyncs())
        .put("digests", stats.digests());
  }

  private static double percentile(long[] sorted, double p) {
    return sorted.length == 0 ? 0 : sorted[(int) Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1e6;
  }

  private static DigestSigner softwareSigner() {
    KeyPair pair;
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      pair = g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return new DigestSigner() {
      @Override
      public byte[] publicKey() {
        return pair.getPublic().getEncoded();
      }

      @Override
      public byte[] sign(byte[] message) throws GeneralSecurityException {
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(pair.getPrivate());
        s.update(message);
        return s.sign();
      }
    };
  }
}
