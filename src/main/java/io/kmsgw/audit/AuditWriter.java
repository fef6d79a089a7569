package io.kmsgw.audit;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The audit trail's writer thread ({@link AuditLog}: group commit, digests, rotation): takes what is queued, writes
 * events in one durable write per batch (in parts of at most {@link #MAX_WRITE} bytes), completes their futures once
 * durable, and between batches writes a digest when one is due and starts a new file when the current one is full or
 * of another day, right after a digest.
 *
 * <p>Everything here runs on that one thread (and {@link #open} before it starts), so the chain ({@link ChainHead}),
 * the file ({@link LiveFile}) and the digest schedule ({@link DigestSchedule}) need no lock; other threads see the
 * figures in {@link AuditCounters}.
 */
final class AuditWriter implements Runnable {
  /** AuditLog's logger: the lines read as before the split. */
  private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());
  private static final int MAX_BATCH = 4096;
  /**
   * The most bytes one write (and fsync) carries; a longer batch is written in parts. It bounds what a crash can leave
   * of an unacknowledged write, which a restart looks for at the end of the file only ({@link AuditTail}).
   */
  static final int MAX_WRITE = 4 << 20;

  enum Control { NONE, DIGEST, STOP }

  /** An event to write ({@code NONE}), or a digest wanted now, or the end. */
  record Pending(String eventJson, CompletableFuture<Void> done, Control control) {}

  private final AuditLog.Settings settings;
  private final Clock clock;
  private final List<AuditSink> sinks;
  private final BlockingQueue<Pending> queue;
  private final AuditCounters counters;
  private final FreeSpaceWatch space;
  /** Told when the writer fails: no further event can be recorded. */
  private final Consumer<Throwable> onFailure;
  private final ChainHead chain = new ChainHead();
  /** The file being written. */
  private final LiveFile file;
  /** When digests are due, and their signed lines. */
  private final DigestSchedule digests;
  /** When a failed rotation may be tried again (System.nanoTime), 0 when none failed. */
  private long rotationRetryNanos;

  /**
   * @param undoFailed told when a failed write could not be undone (the trail takes no more events; the writer goes
   *     on)
   * @param onFailure told when the writer stops on a failure
   */
  AuditWriter(AuditLog.Settings settings, Clock clock, DigestSigner signer, List<AuditSink> sinks,
      BlockingQueue<Pending> queue, AuditCounters counters, FreeSpaceWatch space, Consumer<IOException> undoFailed,
      Consumer<Throwable> onFailure) {
    this.settings = settings;
    this.clock = clock;
    this.sinks = sinks;
    this.queue = queue;
    this.counters = counters;
    this.space = space;
    this.onFailure = onFailure;
    this.digests = new DigestSchedule(settings.digestEveryEvents(), settings.digestEvery(), clock, signer, chain,
        counters);
    this.file = new LiveFile(settings, clock, counters, space, undoFailed);
  }

  /**
   * Opens the trail before the writer thread starts: finds where the chain stands ({@link AuditRecovery}) or starts
   * the first file, applies the retention, checks the free space and starts the zeros ahead. Returns the repair
   * event to record first, or null. Blocking.
   */
  JsonObject open() throws IOException {
    JsonObject repair = recover();
    applyRetention();
    space.check(true);
    publish();
    file.extendAhead();
    return repair;
  }

  private JsonObject recover() throws IOException {
    AuditRecovery.Resumed resumed = AuditRecovery.resume(settings, clock, chain);
    if (resumed == null) {
      startFile(today(), 1);
      return null;
    }
    file.resume(resumed);
    if (chain.lastIsDigest() && rotationWanted()) {
      rotate();
    }
    return resumed.repair();
  }

  /** The writer thread: until a STOP, or a failure after which {@code onFailure} is told. */
  @Override
  public void run() {
    List<Pending> batch = new ArrayList<>(MAX_BATCH);
    boolean stop = false;
    try {
      while (!stop) {
        Pending first = queue.poll(digests.pollMillis(), TimeUnit.MILLISECONDS);
        if (first != null) {
          batch.add(first);
          queue.drainTo(batch, MAX_BATCH - 1);
        }
        stop = process(batch);
        batch.clear();
        if (digests.due()) {
          writeDigest(false);
        }
        maybeRotate();
        space.check(false);
        publish();
      }
      // appends admitted before close() and queued after its STOP
      queue.drainTo(batch);
      process(batch);
      writeDigest(true);
      publish();
      file.finish();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      onFailure.accept(e);
    } catch (IOException | RuntimeException | Error e) {
      LOG.log(Level.SEVERE, "audit: the writer failed; no further event can be recorded", e);
      onFailure.accept(e);
    }
  }

  /** Writes the batch in order, events in one group commit between controls; true when STOP was seen. */
  private boolean process(List<Pending> batch) {
    boolean stop = false;
    int i = 0;
    while (i < batch.size()) {
      int j = i;
      while (j < batch.size() && batch.get(j).control() == Control.NONE) {
        j++;
      }
      if (j > i) {
        writeEvents(batch.subList(i, j));
      }
      if (j < batch.size()) {
        Pending c = batch.get(j);
        if (c.control() == Control.STOP) {
          stop = true;
        } else if (writeDigest(true)) {
          c.done().complete(null);
        } else {
          c.done().completeExceptionally(new AuditException("the digest could not be signed now"));
        }
        j++;
      }
      i = j;
    }
    return stop;
  }

  private void writeEvents(List<Pending> events) {
    int from = 0;
    while (from < events.size()) {
      from = writePart(events, from);
    }
  }

  /** Writes events from {@code from} on in one durable write of at most MAX_WRITE bytes (or one line); returns
   *  where it stopped. */
  private int writePart(List<Pending> events, int from) {
    long seq = chain.lastSeq();
    String prev = chain.lastHash();
    ByteArrayOutputStream buf = new ByteArrayOutputStream(Math.min(MAX_WRITE, (events.size() - from) * 1024));
    List<String> lines = new ArrayList<>();
    int to = from;
    while (to < events.size()) {
      String line = AuditRecords.eventLine(seq + 1, prev, events.get(to).eventJson());
      byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
      if (to > from && buf.size() + bytes.length + 1 > MAX_WRITE) {
        break;
      }
      seq++;
      prev = Hashes.sha256Hex(bytes);
      buf.writeBytes(bytes);
      buf.write('\n');
      lines.add(line);
      to++;
    }
    List<Pending> part = events.subList(from, to);
    try {
      file.append(buf.toByteArray());
    } catch (IOException e) {
      AuditException failure = new AuditException("the audit trail could not be written: " + e.getMessage(), e);
      part.forEach(p -> p.done().completeExceptionally(failure));
      return to;
    }
    chain.eventsAppended(seq, prev, part.size());
    counters.records.addAndGet(part.size());
    publish();
    part.forEach(p -> p.done().complete(null));
    toSinks(lines);
    return to;
  }

  /**
   * Signs and writes a digest of the lines since the previous one. Unless {@code now}, does not try again within
   * {@link DigestSchedule#RETRY} of a failure. True when every line is covered afterwards.
   */
  private boolean writeDigest(boolean now) {
    if (chain.sinceDigest() == 0) {
      return true;
    }
    long nanos = System.nanoTime();
    String line = digests.signedLine(now, nanos);
    if (line == null) {
      return false;
    }
    byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
    try {
      file.append(bytes);
    } catch (IOException e) {
      digests.retryLater(nanos);
      return false;
    }
    chain.digestAppended(line);
    digests.written(nanos);
    publish();
    toSinks(List.of(line));
    return true;
  }

  private boolean rotationWanted() {
    return file.size() >= settings.maxFileBytes() || today().isAfter(file.current().day());
  }

  /** A new file once the current one is full or of another day, right after a digest (its anchor). */
  private void maybeRotate() throws IOException {
    if (!rotationWanted()) {
      return;
    }
    if (System.nanoTime() < rotationRetryNanos) {
      return;
    }
    if (!chain.lastIsDigest() && !writeDigest(false)) {
      return;
    }
    try {
      rotate();
    } catch (IOException e) {
      // a full disk, say: the new file is gone again (startFile), the current one goes on, and the rotation is
      // tried again later, after a new digest if events came in between
      rotationRetryNanos = System.nanoTime() + DigestSchedule.RETRY.toNanos();
      LOG.warning(() -> "audit: could not start a new file (" + e.getMessage() + "); writing on in "
          + file.current().name() + ", trying again in " + DigestSchedule.RETRY.toSeconds() + " s");
      return;
    }
    rotationRetryNanos = 0;
    applyRetention();
  }

  private void rotate() throws IOException {
    AuditFiles.Entry current = file.current();
    LocalDate day = today().isAfter(current.day()) ? today() : current.day();
    startFile(day, day.equals(current.day()) ? current.counter() + 1 : 1);
  }

  /** Creates the next file with its header line ({@link LiveFile#start}), the chain's next line. */
  private void startFile(LocalDate day, int counter) throws IOException {
    String line = file.start(day, counter, chain);
    chain.headerAppended(line);
    counters.records.incrementAndGet();
    String name = file.current().name();
    LOG.info(() -> "audit: writing " + name + " from seq " + chain.lastSeq());
    toSinks(List.of(line));
  }

  /** The writer failed: the file is closed as it is, and pre-allocation stops. */
  void abandonAfterFailure() {
    file.abandonAfterFailure();
  }

  /** Completes once the pre-allocation work queued so far is done ({@link Preallocation#idle()}). */
  CompletableFuture<Void> allocatorIdle() {
    return file.allocatorIdle();
  }

  private void applyRetention() throws IOException {
    AuditRetention.apply(settings.dir(), settings.retentionDays(), clock, file.current());
  }

  private LocalDate today() {
    return LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
  }

  private void toSinks(List<String> lines) {
    for (AuditSink s : sinks) {
      try {
        s.accept(lines);
      } catch (RuntimeException e) {
        LOG.warning(() -> "audit: sink failed: " + e);
      }
    }
  }

  private void publish() {
    counters.publish(chain);
  }
}
