package io.kmsgw.audit;

/**
 * Where the audit chain stands (format: {@link AuditRecords}): the seq and hash of its last line, whether that line
 * is a digest, the last digest's line, seq and hash, and how many lines since that digest wait for the next one.
 *
 * <p>State of the audit writer thread (and of {@code AuditLog.open} before that thread starts): no lock. What other
 * threads see of it is published through {@link AuditCounters}.
 */
final class ChainHead {
  private long lastSeq;
  private String lastHash = Hashes.GENESIS;
  private boolean lastIsDigest;
  private String lastDigestLine;
  private long lastDigestSeq;
  private String lastDigestHash;
  private long sinceDigest;

  /** The seq of the last line; 0 before the first. */
  long lastSeq() {
    return lastSeq;
  }

  /** The hash of the last line (the next line's {@code prev}). */
  String lastHash() {
    return lastHash;
  }

  /** Whether the last line is a digest (a file may then be rotated: the digest is the new file's anchor). */
  boolean lastIsDigest() {
    return lastIsDigest;
  }

  /** The last digest line, or null when there is none yet. */
  String lastDigestLine() {
    return lastDigestLine;
  }

  /** The seq of the last digest, 0 when there is none yet. */
  long lastDigestSeq() {
    return lastDigestSeq;
  }

  /** The hash of the last digest line, or null when there is none yet. */
  String lastDigestHash() {
    return lastDigestHash;
  }

  /** The lines written since the last digest (not yet covered by one). */
  long sinceDigest() {
    return sinceDigest;
  }

  /** Event lines up to {@code seq} are durable, {@code count} of them, the last hashing to {@code hash}. */
  void eventsAppended(long seq, String hash, int count) {
    lastSeq = seq;
    lastHash = hash;
    lastIsDigest = false;
    sinceDigest += count;
  }

  /** A file header line is durable. */
  void headerAppended(String line) {
    lastSeq++;
    lastHash = AuditRecords.hash(line);
    lastIsDigest = false;
    sinceDigest++;
  }

  /** A digest line is durable: it covers every line before it. */
  void digestAppended(String line) {
    lastSeq++;
    lastHash = AuditRecords.hash(line);
    lastIsDigest = true;
    lastDigestLine = line;
    lastDigestSeq = lastSeq;
    lastDigestHash = lastHash;
    sinceDigest = 0;
  }

  /**
   * Continues a chain read back at a restart.
   *
   * @param last the last complete line, whose seq is {@code seq}
   * @param isDigest whether it is a digest
   * @param digestLine the last digest line (the last line itself, one before it, or the newest file header's
   *     anchor), or null when the trail has none
   */
  void resume(String last, long seq, boolean isDigest, String digestLine) {
    lastSeq = seq;
    lastHash = AuditRecords.hash(last);
    lastIsDigest = isDigest;
    lastDigestLine = digestLine;
    if (lastDigestLine != null) {
      lastDigestSeq = AuditRecords.quickSeq(lastDigestLine);
      lastDigestHash = AuditRecords.hash(lastDigestLine);
    } else {
      lastDigestSeq = 0;
      lastDigestHash = null;
    }
    sinceDigest = lastSeq - lastDigestSeq;
  }
}
