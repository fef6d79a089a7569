package io.kmsgw.audit;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The audit trail's figures ({@link AuditLog#stats()}, {@link AuditLog#health()}): counted by the writer thread and its
 * helpers, read by any thread.
 */
final class AuditCounters {
  /** Lines written (events and file headers; not digests). */
  final AtomicLong records = new AtomicLong();
  /** Durable writes (one fdatasync each). */
  final AtomicLong fsyncs = new AtomicLong();
  /** How long each durable write took, failed ones included. */
  final LatencyBuckets durableWrites = new LatencyBuckets();
  /** Writes that failed and were undone: their requests were refused. */
  final AtomicLong failedWrites = new AtomicLong();
  final AtomicLong digests = new AtomicLong();
  /** Digests the signer could not sign. */
  final AtomicLong digestFailures = new AtomicLong();
  private volatile long publishedSeq;
  private volatile long publishedNotCovered;

  /** Shows other threads where the chain stands (writer thread). */
  void publish(ChainHead chain) {
    publishedSeq = chain.lastSeq();
    publishedNotCovered = chain.sinceDigest();
  }

  /** The seq of the last durable line, as last published. */
  long publishedSeq() {
    return publishedSeq;
  }

  /** The lines not yet covered by a digest, as last published. */
  long publishedNotCovered() {
    return publishedNotCovered;
  }
}
