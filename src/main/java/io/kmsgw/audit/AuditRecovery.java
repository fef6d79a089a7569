package io.kmsgw.audit;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * What the audit trail does at a start (docs/audit.md, Durability: Restart): creates the directory, narrows the modes
 * of old files, removes newest files that hold no complete line, and continues the newest file from its end
 * ({@link AuditTail}): where the chain stands, and the bytes of a write a crash cut short, which are cut off and
 * recorded by a {@code KmsgwAuditLogRepaired} event.
 */
final class AuditRecovery {
  /** AuditLog's logger: the lines read as before the split. */
  private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());

  private AuditRecovery() {}

  /**
   * The newest file, open for writing and positioned where its complete lines end ({@code size}), and the repair
   * event to record first, or null when nothing was cut off.
   */
  record Resumed(AuditFiles.Entry file, FileChannel channel, long size, JsonObject repair) {}

  /**
   * Finds where the chain stands in {@code settings.dir()} and sets {@code chain} to it. Blocking.
   *
   * @return the file to continue, or null when there is none (the caller starts the first file)
   * @throws IOException also when the newest file's last complete line is damaged: the chain is not continued
   */
  static Resumed resume(AuditLog.Settings settings, Clock clock, ChainHead chain) throws IOException {
    Path dir = settings.dir();
    AuditFiles.createDirectory(dir);
    List<AuditFiles.Entry> files = new ArrayList<>(AuditFiles.list(dir));
    AuditFiles.restrict(files);
    while (!files.isEmpty()) {
      AuditFiles.Entry newest = files.get(files.size() - 1);
      // only the end of the file is read (AuditTail): memory and time do not grow with the file
      AuditTail.Tail tail = AuditTail.read(newest.path());
      long valid = tail.lines();
      long written = tail.written();
      if (valid == 0) {
        // a file whose header never became durable: created by a run that crashed at once (or a rotation that
        // failed on a full disk); nothing in it counted
        LOG.warning(() -> "audit: removing " + newest.name() + ", which holds no complete line (" + written
            + " bytes written): its creation was cut short");
        Files.delete(newest.path());
        AuditFiles.syncDirectory(dir);
        files.remove(files.size() - 1);
        continue;
      }
      resumeChain(newest, tail, chain);
      JsonObject repair = null;
      FileChannel channel = FileChannel.open(newest.path(), StandardOpenOption.WRITE);
      if (valid < channel.size()) {
        // the zero tail goes too: the file is extended again ahead of the writer
        channel.truncate(valid);
        channel.force(true);
      }
      if (valid < written) {
        long torn = written - valid;
        LOG.warning(() -> "audit: cut off an incomplete last line of " + newest.name() + " (" + torn
            + " bytes at offset " + valid + "), left by a crash during a write; it was never acknowledged");
        repair = AuditEvent.serviceEvent("KmsgwAuditLogRepaired")
            .time(clock.instant())
            .region(settings.region())
            .recipientAccountId(settings.accountId())
            .serviceEventDetail("file", newest.name())
            .serviceEventDetail("offset", valid)
            .serviceEventDetail("removedBytes", torn)
            .serviceEventDetail("removedSha256", tail.tornSha256())
            .serviceEventDetail("reason", "an incomplete last line left by a crash; never acknowledged")
            .build();
      }
      channel.position(valid);
      return new Resumed(newest, channel, valid, repair);
    }
    return null;
  }

  /** The chain state from the end of the newest file. */
  private static void resumeChain(AuditFiles.Entry file, AuditTail.Tail tail, ChainHead chain) throws IOException {
    String last = tail.lastLine();
    AuditRecords.Parsed p = AuditRecords.parse(last);
    if (p.seq() == null || p.kind() == null) {
      throw new IOException("the last line of " + file.path() + " is damaged (at offset "
          + (tail.lines() - last.getBytes(StandardCharsets.UTF_8).length - 1)
          + "); the audit trail will not continue a chain it cannot read: check it with kmsgw audit verify");
    }
    chain.resume(last, p.seq(), p.kind().equals("digest"), tail.lastDigest());
    LOG.info(() -> "audit: continuing " + file.name() + " at seq " + (chain.lastSeq() + 1) + " ("
        + chain.sinceDigest() + " lines not yet covered by a digest)");
  }
}
