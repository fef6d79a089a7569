package io.kmsgw.audit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.logging.Logger;

/**
 * Retention of the audit trail ({@code audit.retention_days}; docs/audit.md, Rotation and retention): whole files
 * older than the retention are deleted, oldest first, never the current one, and only while the file after the
 * deleted one begins with an anchored header, so the chain that remains still verifies. Run by the audit writer at
 * open and after each rotation.
 */
final class AuditRetention {
  /** AuditLog's logger: the lines read as before the split. */
  private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());

  private AuditRetention() {}

  /**
   * Deletes the files of {@code dir} older than {@code retentionDays} before today (UTC, by {@code clock}) that may
   * go; none when {@code retentionDays} is 0 or less.
   *
   * @param current the file being written, which is never deleted
   */
  static void apply(Path dir, int retentionDays, Clock clock, AuditFiles.Entry current) throws IOException {
    if (retentionDays <= 0) {
      return;
    }
    LocalDate cutoff = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC).minusDays(retentionDays);
    List<AuditFiles.Entry> files = AuditFiles.list(dir);
    boolean deleted = false;
    for (int i = 0; i + 1 < files.size(); i++) {
      AuditFiles.Entry f = files.get(i);
      AuditFiles.Entry successor = files.get(i + 1);
      // every line of f is older than its successor's start
      if (f.path().equals(current.path()) || successor.day().isAfter(cutoff) || !anchored(successor.path())) {
        break;
      }
      Files.delete(f.path());
      deleted = true;
      LOG.info(() -> "audit: deleted " + f.name() + " (older than the retention of " + retentionDays + " days)");
    }
    if (deleted) {
      AuditFiles.syncDirectory(dir);
    }
  }

  private static boolean anchored(Path file) throws IOException {
    String first = AuditFiles.firstLine(file, AuditVerifier.MAX_LINE);
    if (first == null) {
      return false;
    }
    AuditRecords.Parsed p = AuditRecords.parse(first);
    return "file".equals(p.kind()) && p.json().getJsonObject("file").getString("anchor") != null;
  }
}
