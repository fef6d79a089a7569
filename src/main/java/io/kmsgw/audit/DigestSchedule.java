package io.kmsgw.audit;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The audit trail's digests (docs/audit.md, A digest): when the next one is due (every {@code digestEveryEvents}
 * lines or {@code digestEvery}), and its line, signed by the {@link DigestSigner} over the lines since the previous
 * digest. While the signer is not ready or fails, a digest is not tried again within {@link #RETRY}.
 *
 * <p>State of the audit writer thread: no lock. The writer makes the line durable and then calls {@link #written}
 * (or {@link #retryLater} when the write failed).
 */
final class DigestSchedule {
  /** AuditLog's logger: the lines read as before the split. */
  private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());
  /** How soon a digest is tried again after the signer was not ready or failed (and a failed rotation). */
  static final Duration RETRY = Duration.ofSeconds(5);

  private final int everyEvents;
  private final Duration every;
  private final Clock clock;
  private final DigestSigner signer;
  private final ChainHead chain;
  private final AuditCounters counters;
  private long lastDigestNanos = System.nanoTime();
  private long retryNanos;
  private long lastFailureLogNanos;
  private String lastFingerprint;

  /**
   * @param everyEvents a digest after this many lines
   * @param every and at least this often while there are lines not yet covered
   */
  DigestSchedule(int everyEvents, Duration every, Clock clock, DigestSigner signer, ChainHead chain,
      AuditCounters counters) {
    this.everyEvents = everyEvents;
    this.every = every;
    this.clock = clock;
    this.signer = signer;
    this.chain = chain;
    this.counters = counters;
  }

  /** How long the writer may wait for the next event before it looks at the digest again (1 ms to 1 s). */
  long pollMillis() {
    if (chain.sinceDigest() == 0) {
      return 1000;
    }
    long now = System.nanoTime();
    long due = Math.max(lastDigestNanos + every.toNanos(), retryNanos);
    return Math.max(1, Math.min(1000, TimeUnit.NANOSECONDS.toMillis(due - now)));
  }

  /** Whether enough lines, or enough time, have gone by since the last digest. */
  boolean due() {
    long sinceDigest = chain.sinceDigest();
    return sinceDigest >= everyEvents
        || (sinceDigest > 0 && System.nanoTime() - lastDigestNanos >= every.toNanos());
  }

  /**
   * The signed digest line over the lines since the previous digest, to be the chain's next line; null when it cannot
   * be made now: within {@link #RETRY} of a failure (unless {@code now}), the signer not ready, or its signature
   * failed (counted, logged once a minute at most).
   *
   * @param nanos the attempt's time (System.nanoTime)
   */
  String signedLine(boolean now, long nanos) {
    if (!now && nanos < retryNanos) {
      return null;
    }
    byte[] spki = signer.publicKey();
    if (spki == null) {
      retryLater(nanos);
      return null;
    }
    String fingerprint = Hashes.sha256Hex(spki);
    if (!fingerprint.equals(lastFingerprint)) {
      lastFingerprint = fingerprint;
      LOG.info(() -> "audit: digests are signed by the key with SHA-256 fingerprint " + fingerprint);
    }
    long seq = chain.lastSeq() + 1;
    JsonObject d = new JsonObject()
        .put("firstSeq", chain.lastDigestSeq() + 1)
        .put("lastSeq", chain.lastSeq())
        .put("lastHash", chain.lastHash())
        .put("previousDigestSeq", chain.lastDigestSeq() == 0 ? null : chain.lastDigestSeq())
        .put("previousDigestHash", chain.lastDigestHash())
        .put("time", clock.instant().toString())
        .put("signatureAlgorithm", AuditRecords.SIGNATURE_ALGORITHM)
        .put("publicKey", Base64.getEncoder().encodeToString(spki))
        .put("publicKeyFingerprint", fingerprint);
    String body = AuditRecords.digestBody(seq, chain.lastHash(), d);
    byte[] signature;
    try {
      signature = signer.sign(body.getBytes(StandardCharsets.UTF_8));
    } catch (Exception e) {
      counters.digestFailures.incrementAndGet();
      retryLater(nanos);
      if (nanos - lastFailureLogNanos > TimeUnit.MINUTES.toNanos(1) || lastFailureLogNanos == 0) {
        lastFailureLogNanos = nanos;
        LOG.warning(() -> "audit: a digest could not be signed (" + e.getMessage() + "); " + chain.sinceDigest()
            + " lines wait for one, tried again in " + RETRY.toSeconds() + " s");
      }
      return null;
    }
    return AuditRecords.digestLine(body, Base64.getEncoder().encodeToString(signature));
  }

  /** The digest of the attempt at {@code nanos} was not made: tried again after {@link #RETRY}. */
  void retryLater(long nanos) {
    retryNanos = nanos + RETRY.toNanos();
  }

  /** The digest line of the attempt at {@code nanos} is durable (and in the chain). */
  void written(long nanos) {
    lastDigestNanos = nanos;
    counters.digests.incrementAndGet();
  }
}
