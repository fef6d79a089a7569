package io.kmsgw.audit;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The audit file being written (docs/audit.md, Durability and A full disk): durable appends at its end, cut back to
 * where it was when one fails; the start of the next file with its header line (removed again if the header cannot
 * be made durable); the zeros ahead of the writer ({@link Preallocation}); and the end of a file the writer leaves.
 *
 * <p>State of the audit writer thread (and of {@code AuditLog.open} before that thread starts): no lock.
 */
final class LiveFile {
  /** AuditLog's logger: the lines read as before the split. */
  private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());

  private final Path dir;
  private final Clock clock;
  private final AuditCounters counters;
  private final FreeSpaceWatch space;
  /** Told when a failed write could not be undone: the trail must take no more events. */
  private final Consumer<IOException> undoFailed;
  /** Zeros ahead of the writer in the file being written. */
  private final Preallocation preallocation;
  private FileChannel channel;
  private AuditFiles.Entry current;
  private long size;
  private long lastWriteFailureLog;

  LiveFile(AuditLog.Settings settings, Clock clock, AuditCounters counters, FreeSpaceWatch space,
      Consumer<IOException> undoFailed) {
    this.dir = settings.dir();
    this.clock = clock;
    this.counters = counters;
    this.space = space;
    this.undoFailed = undoFailed;
    this.preallocation = new Preallocation(settings.preallocateBytes(), settings.maxFileBytes());
  }

  /** The file being written; null before the first is started or resumed. */
  AuditFiles.Entry current() {
    return current;
  }

  /** Where the written bytes of the current file end. */
  long size() {
    return size;
  }

  /** Continues a file found at a restart. */
  void resume(AuditRecovery.Resumed resumed) {
    current = resumed.file();
    channel = resumed.channel();
    size = resumed.size();
    preallocation.reset(size);
  }

  /** Starts the zeros ahead of the writer, if they are due. */
  void extendAhead() {
    preallocation.extendAhead(channel, size, current);
  }

  /**
   * Appends and fsyncs; on failure the file is cut back to where it was, so the chain on disk stays whole and the
   * next batch can try again (a full disk may clear up). If even that fails, the trail stops taking events.
   */
  void append(byte[] bytes) throws IOException {
    long start = System.nanoTime();
    try {
      preallocation.awaitExtension(size, bytes.length, current);
      ByteBuffer b = ByteBuffer.wrap(bytes);
      // at the file's known end, whatever a failed write left of the channel's position
      while (b.hasRemaining()) {
        channel.write(b, size + b.position());
      }
      channel.force(false);
      counters.durableWrites.record(System.nanoTime() - start);
      counters.fsyncs.incrementAndGet();
      size += bytes.length;
      preallocation.written(size);
      preallocation.extendAhead(channel, size, current);
    } catch (IOException e) {
      // a write that hung and then failed is a stall too
      counters.durableWrites.record(System.nanoTime() - start);
      long failed = counters.failedWrites.incrementAndGet();
      space.check(true);
      // a full disk fails every write until space returns: the first failure and then one line a minute
      long now = System.nanoTime();
      if (lastWriteFailureLog == 0 || now - lastWriteFailureLog > TimeUnit.MINUTES.toNanos(1)) {
        lastWriteFailureLog = now;
        LOG.severe(() -> "audit: writing " + current.name() + " failed: " + e.getMessage() + " (" + failed
            + " failed writes since start; their requests are refused)");
      }
      try {
        preallocation.stopExtension(current);
        channel.truncate(size);
        channel.position(size);
        channel.force(false);
        preallocation.reset(size);
      } catch (IOException again) {
        undoFailed.accept(again);
        throw again;
      }
      throw e;
    }
  }

  /**
   * Creates the next file with its header line, durable together with its directory entry, and writes on in it; the
   * file left is finished on the pre-allocation thread. The header continues {@code chain}, which the caller then
   * moves on by the returned line. On failure no new file is left and the current one goes on.
   *
   * @param counter the counter within {@code day} to try first; taken ones are skipped
   * @return the header line
   */
  String start(LocalDate day, int counter, ChainHead chain) throws IOException {
    FileChannel next = null;
    Path path = null;
    for (int n = counter; next == null; n++) {
      path = dir.resolve(AuditFiles.name(day, n));
      try {
        // readable by the gateway's user only, from its creation on (not chmod after: no moment it is wider)
        next = AuditFiles.create(path);
        counter = n;
      } catch (FileAlreadyExistsException e) {
        if (n > counter + 1000) {
          throw e;
        }
      }
    }
    JsonObject header = new JsonObject()
        .put("name", path.getFileName().toString())
        .put("created", clock.instant().toString())
        .put("previousFile", current == null ? null : current.name())
        .put("anchor", chain.lastIsDigest() ? chain.lastDigestLine() : null);
    String line = AuditRecords.fileLine(chain.lastSeq() + 1, chain.lastHash(), header);
    byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
    try {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        next.write(b);
      }
      next.force(true);
      AuditFiles.syncDirectory(dir);
    } catch (IOException e) {
      // no half-made file is left behind: the chain goes on in the current file
      abandon(next, path);
      throw e;
    }
    if (channel != null) {
      preallocation.retire(channel, size, current);
    }
    channel = next;
    current = new AuditFiles.Entry(path, day, counter);
    size = bytes.length;
    preallocation.reset(size);
    preallocation.extendAhead(channel, size, current);
    return line;
  }

  /** Removes a file whose header could not be made durable (a full disk), so that no empty file is left. */
  private static void abandon(FileChannel ch, Path path) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // deleting it is what matters
    }
    try {
      Files.deleteIfExists(path);
      AuditFiles.syncDirectory(path.getParent());
    } catch (IOException e) {
      LOG.warning(() -> "audit: could not remove " + path.getFileName() + ", whose header could not be written ("
          + e.getMessage() + "); the next start removes it");
    }
  }

  /** At close: cuts the zero tail off the current file and closes it, after the pre-allocation work queued. */
  void finish() throws IOException {
    preallocation.stopExtension(current);
    ZeroExtension.finish(channel, size);
    preallocation.stop();
  }

  /** The writer failed: no more zeros, and the file is closed as it is. */
  void abandonAfterFailure() {
    preallocation.stopNow();
    try {
      channel.close();
    } catch (IOException | RuntimeException ignored) {
      // closing a failed channel: nothing more to do
    }
  }

  /** Completes once the pre-allocation work queued so far is done ({@link Preallocation#idle()}). */
  CompletableFuture<Void> allocatorIdle() {
    return preallocation.idle();
  }
}
