package io.kmsgw.audit;

import io.kmsgw.audit.AuditWriter.Control;
import io.kmsgw.audit.AuditWriter.Pending;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The durable, hash-chained audit trail (format: {@link AuditRecords}, docs/audit.md).
 *
 * <p><b>Group commit.</b> {@link #append} queues the event and returns a future; one writer thread takes everything
 * queued, gives each line its seq and the hash of the line before, writes them with one {@code write}, makes them
 * durable with one {@code fdatasync} ({@code FileChannel.force(false)}) and only then completes their futures. The
 * request path answers the client after its future completes, so an acknowledged request's event survives a
 * {@code kill -9} or a power cut, and concurrent requests share one fsync. Futures complete on the writer thread:
 * callers hop to their own executor for anything but a short callback.
 *
 * <p><b>Digests.</b> Every {@code digestEveryEvents} lines or {@code digestEvery}, at each file rotation and at
 * {@link #close}, a digest line covering the lines since the previous digest is signed by the {@link DigestSigner}
 * (an ECDSA P-256 key in the HSM). While the signer is not ready (HSM not connected), events are still written and
 * chained, and the digest waits.
 *
 * <p><b>Files.</b> {@code audit-YYYYMMDD-NNN.jsonl}; a file is started when the current one reaches
 * {@code maxFileBytes} or the UTC day changes, but only right after a digest, whose line the new file's first line
 * (the file header) repeats as its {@code anchor}: so every file but the first can be checked on its own after
 * retention has removed the ones before it. A restart continues the newest file; an incomplete last line (a write
 * cut short by a crash, never acknowledged) is cut off and a {@code KmsgwAuditLogRepaired} service event records
 * its length and hash.
 *
 * <p><b>Pre-allocation.</b> An fdatasync of a file that grew must also commit the file's new size and blocks (a
 * file system journal commit); one that only overwrote allocated blocks need not, and costs about half the time
 * and CPU (measured on the project's machine: docs/performance.md). So a helper thread extends the file being
 * written with zero bytes, {@code preallocateBytes} at a time, ahead of the writer, which then overwrites them.
 * The file's lines end at its first zero byte (no line contains one: JSON escapes control characters); readers
 * ({@link AuditVerifier}, {@link ReverseLines}) stop there; the zero tail is cut off when the file is finished
 * (rotation, close) and at the next start after a crash.
 *
 * <p><b>Parts.</b> This class admits events (a bounded queue; refusals once closed or failed) and shows the figures;
 * the rest runs on the one writer thread, without locks: {@link AuditWriter} (batches, group commit, when to digest
 * and rotate), {@link ChainHead} (where the chain stands), {@link DigestSchedule} (when a digest is due; its signed
 * line), {@link LiveFile} (durable appends, the next file with its header), {@link Preallocation} (the zeros ahead),
 * {@link AuditRecovery} (the start after a restart or crash), {@link AuditRetention} (old files);
 * {@link AuditCounters} holds the figures other threads read.
 */
public final class AuditLog implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());
  private static final int QUEUE_CAPACITY = 65_536;

  /**
   * @param dir the audit directory
   * @param maxFileBytes a file is rotated (after the next digest) once it is this large
   * @param retentionDays whole files older than this are deleted; 0 keeps every file
   * @param digestEveryEvents a digest after this many lines
   * @param digestEvery and at least this often while there are lines not yet covered
   * @param accountId the account of the gateway's own service events
   * @param region the region of the gateway's own service events
   */
  public record Settings(Path dir, long maxFileBytes, int retentionDays, int digestEveryEvents, Duration digestEvery,
      String accountId, String region, long preallocateBytes, long lowSpaceBytes) {
    /** The default pre-allocation step. */
    public static final long DEFAULT_PREALLOCATE = 8L << 20;
    /** The default low-space watermark ({@code audit.low_space_mb}). */
    public static final long DEFAULT_LOW_SPACE = 256L << 20;

    public Settings {
      if (preallocateBytes < 0 || lowSpaceBytes < 0) {
        throw new IllegalArgumentException("preallocateBytes and lowSpaceBytes must not be negative");
      }
    }

    /** With the default low-space watermark. */
    public Settings(Path dir, long maxFileBytes, int retentionDays, int digestEveryEvents, Duration digestEvery,
        String accountId, String region, long preallocateBytes) {
      this(dir, maxFileBytes, retentionDays, digestEveryEvents, digestEvery, accountId, region, preallocateBytes,
          DEFAULT_LOW_SPACE);
    }

    /** With the default pre-allocation step. */
    public Settings(Path dir, long maxFileBytes, int retentionDays, int digestEveryEvents, Duration digestEvery,
        String accountId, String region) {
      this(dir, maxFileBytes, retentionDays, digestEveryEvents, digestEvery, accountId, region, DEFAULT_PREALLOCATE);
    }
  }

  /** Figures for health checks and the benchmark. */
  public record Stats(long records, long fsyncs, long digests, long digestFailures, long lastSeq, long notCovered,
      long sinkDrops) {}

  private final Settings settings;
  private final List<AuditSink> sinks;
  private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
  private final Object admission = new Object();
  private final AuditWriter writer;
  private final Thread writerThread;
  private volatile boolean closing;
  private volatile Throwable broken;

  private final AuditCounters counters = new AuditCounters();
  private final FreeSpaceWatch space;
  private final List<Runnable> closeHooks = new java.util.concurrent.CopyOnWriteArrayList<>();

  private AuditLog(Settings settings, Clock clock, DigestSigner signer, List<AuditSink> sinks) {
    this.settings = settings;
    this.space = new FreeSpaceWatch(settings.dir(), settings.lowSpaceBytes());
    this.sinks = List.copyOf(sinks);
    this.writer = new AuditWriter(settings, clock, signer, this.sinks, queue, counters, space, e -> broken = e,
        this::fail);
    this.writerThread = new Thread(writer, "kmsgw-audit-writer");
    writerThread.setDaemon(true);
  }

  /**
   * Opens the trail in its directory: continues the newest file (cutting off an incomplete last line, and recording
   * that as the first new event) or starts the first one. Blocking; call it before serving requests.
   */
  public static AuditLog open(Settings settings, Clock clock, DigestSigner signer, List<AuditSink> sinks)
      throws IOException {
    AuditLog log = new AuditLog(settings, clock, signer, sinks);
    JsonObject repair = log.writer.open();
    log.writerThread.start();
    if (repair != null) {
      log.append(repair);
    }
    return log;
  }

  /**
   * Queues an event; the future completes once its line is on disk and fsynced, and fails with
   * {@link AuditException} if it cannot be written (the request must then fail too).
   */
  public CompletableFuture<Void> append(JsonObject event) {
    return appendEncoded(event.encode());
  }

  /** {@link #append(JsonObject)} of an event written straight from its builder (no JSON tree in between). */
  public CompletableFuture<Void> append(AuditEvent.Builder event) {
    return appendEncoded(event.encode());
  }

  private CompletableFuture<Void> appendEncoded(String json) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (admission) {
      if (broken != null) {
        done.completeExceptionally(new AuditException("the audit trail cannot be written: " + broken, broken));
      } else if (closing) {
        done.completeExceptionally(new AuditException("the audit trail is closed"));
      } else if (!queue.offer(new Pending(json, done, Control.NONE))) {
        done.completeExceptionally(new AuditException("the audit trail is overloaded (" + QUEUE_CAPACITY
            + " events waiting)"));
      }
    }
    return done;
  }

  /**
   * Writes a digest now (after the events queued before this call); completes when it is durable, at once if every
   * line is covered already, and fails if the signer is not ready.
   */
  public CompletableFuture<Void> digestNow() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (admission) {
      if (closing || broken != null) {
        done.completeExceptionally(new AuditException("the audit trail is closed"));
      } else if (!queue.offer(new Pending(null, done, Control.DIGEST))) {
        done.completeExceptionally(new AuditException("the audit trail is overloaded"));
      }
    }
    return done;
  }

  public Stats stats() {
    return new Stats(counters.records.get(), counters.fsyncs.get(), counters.digests.get(),
        counters.digestFailures.get(), counters.publishedSeq(), counters.publishedNotCovered(),
        sinks.stream().mapToLong(AuditSink::dropped).sum());
  }

  /**
   * How long each durable write took (the wait for pre-allocation, the write and the fdatasync: what the requests in
   * its batch waited for after reaching the writer), counted by milliseconds since start ({@link LatencyBuckets}).
   */
  public Map<String, Long> durableWriteMillis() {
    return counters.durableWrites.snapshot();
  }

  /** Whether the trail still takes events (false once a write could not be undone, or after close). */
  public boolean writable() {
    return !closing && broken == null;
  }

  /**
   * What the health details ({@code /healthz/detail}, signed) show of the trail: {@code state} ({@code WRITABLE};
   * {@code FAILED} once a write could not be undone; {@code CLOSED} after close), {@code failedWrites} (writes that failed and were
   * undone: their requests were refused), and {@code slowWriteMillis}: the durable writes that took over
   * {@link #SLOW_WRITE_MS} ms, by milliseconds; {@code lowSpace}: the free space of the audit directory is below
   * {@code audit.low_space_mb} (checked every few seconds). Not the number of writes, which at low load is about the
   * number of KMS requests: that would tell anyone who may read the details how busy the callers are.
   */
  public Map<String, Object> health() {
    Map<String, Object> doc = new java.util.LinkedHashMap<>();
    doc.put("state", broken != null ? "FAILED" : closing ? "CLOSED" : "WRITABLE");
    doc.put("failedWrites", counters.failedWrites.get());
    doc.put("slowWriteMillis", LatencyBuckets.above(durableWriteMillis(), SLOW_WRITE_MS));
    doc.put("lowSpace", space.low());
    return doc;
  }

  /** Durable writes longer than this many milliseconds are counted in {@link #health()}. */
  public static final long SLOW_WRITE_MS = 10;

  /** The audit directory. */
  public Path dir() {
    return settings.dir();
  }

  /** Runs {@code hook} at the start of {@link #close}, while events are still taken (a last summary, say). */
  public void beforeClose(Runnable hook) {
    closeHooks.add(hook);
  }

  /** Writes what is queued, a last digest if the signer is ready, and closes the file. */
  @Override
  public void close() {
    for (Runnable hook : closeHooks) {
      try {
        hook.run();
      } catch (RuntimeException e) {
        LOG.warning(() -> "audit: a task before close failed: " + e);
      }
    }
    synchronized (admission) {
      if (closing) {
        return;
      }
      closing = true;
    }
    try {
      queue.put(new Pending(null, new CompletableFuture<>(), Control.STOP));
      writerThread.join(TimeUnit.SECONDS.toMillis(60));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sinks.forEach(AuditSink::close);
  }

  /**
   * Completes once the pre-allocation work queued so far (extensions, finished files) is done; at once when
   * pre-allocation is off. For tests and tools that look at the files.
   */
  CompletableFuture<Void> allocatorIdle() {
    return writer.allocatorIdle();
  }

  /** The writer is gone: every waiting and later append fails. */
  private void fail(Throwable cause) {
    synchronized (admission) {
      broken = cause;
    }
    List<Pending> left = new ArrayList<>();
    queue.drainTo(left);
    AuditException e = new AuditException("the audit trail cannot be written: " + cause, cause);
    left.forEach(p -> p.done().completeExceptionally(e));
    writer.abandonAfterFailure();
  }
}
