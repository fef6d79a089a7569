package io.kmsgw.audit;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Pre-allocation of the audit file being written (docs/audit.md, Durability): a helper thread
 * ({@code kmsgw-audit-alloc}) extends the file with zeros ahead of the writer, one {@link ZeroExtension} at a time,
 * and cuts the zero tail off files the writer has left. Off (every method a no-op) when the step is 0.
 *
 * <p>Called from the audit writer thread only (and from {@code AuditLog.open} before that thread starts), like the
 * rest of the writer's state: it needs no lock. The extension itself runs on the helper thread and publishes its
 * progress through {@link ZeroExtension}'s volatile fields.
 */
final class Preallocation {
  /** AuditLog's logger: the lines read as before the split. */
  private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());

  /** Extends the file being written with zeros ahead of the writer; null when pre-allocation is off. */
  private final ExecutorService allocator;
  private final long preallocateBytes;
  private final long maxFileBytes;
  /** Bytes of the current file that exist (written or pre-allocated zeros) as far as the writer knows. */
  private long allocated;
  /** An extension of the current file in progress, or null. */
  private ZeroExtension extension;
  private long lastAllocationFailureLog;

  /**
   * @param preallocateBytes the step ({@code audit.preallocate_mb}); 0 turns pre-allocation off
   * @param maxFileBytes the rotation size, which bounds the step
   */
  Preallocation(long preallocateBytes, long maxFileBytes) {
    this.preallocateBytes = preallocateBytes;
    this.maxFileBytes = maxFileBytes;
    this.allocator = preallocateBytes == 0 ? null : Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "kmsgw-audit-alloc");
      t.setDaemon(true);
      return t;
    });
  }

  /** A file was opened or started, or cut back, at {@code size}: nothing beyond it is known to be allocated. */
  void reset(long size) {
    allocated = size;
  }

  /** The writer wrote up to {@code size}. */
  void written(long size) {
    allocated = Math.max(allocated, size);
  }

  /**
   * Starts extending the current file with zeros when less than half a step is left ahead of the writer (writer
   * thread, or open() before it starts). A failure only costs speed: the writer then grows the file as it writes.
   *
   * @param ch the file being written
   * @param size where its written bytes end
   * @param file which file it is, for the log
   */
  void extendAhead(FileChannel ch, long size, AuditFiles.Entry file) {
    if (allocator == null) {
      return;
    }
    if (extension != null) {
      if (!extension.done.isDone()) {
        return;
      }
      collectExtension(file);
    }
    // never much more than a file holds: a small file limit is not worth megabytes of zeros per file
    long step = Math.min(preallocateBytes, Math.max(maxFileBytes, 64 << 10));
    if (allocated - size >= step / 2) {
      return;
    }
    ZeroExtension e = new ZeroExtension(Math.max(allocated, size));
    e.done = CompletableFuture.supplyAsync(() -> ZeroExtension.zeros(ch, e, step), allocator);
    extension = e;
  }

  /**
   * Before a write of {@code length} bytes at {@code size}: if the write would reach bytes the extension in progress
   * has not yet zeroed and made durable, stops the extension and waits for the piece being zeroed, never for the rest
   * of it (the write then grows the file, as without pre-allocation). So the zeros never overwrite a line, and a slow
   * disk stalls the writer for one piece at most.
   */
  void awaitExtension(long size, long length, AuditFiles.Entry file) {
    ZeroExtension e = extension;
    if (e == null) {
      return;
    }
    long end = size + length;
    if (!e.done.isDone() && end <= e.zeroedTo) {
      return; // before the range being zeroed, or inside the part of it already zeroed and durable
    }
    stopExtension(file);
  }

  /**
   * Stops the extension in progress after its current piece and waits for that (before a write, close, failure).
   * One that has not started (queued behind a finished file's truncation) is cancelled without waiting.
   */
  void stopExtension(AuditFiles.Entry file) {
    ZeroExtension e = extension;
    if (e == null) {
      return;
    }
    if (e.cancel()) {
      extension = null; // never started: it will not touch the file
      return;
    }
    collectExtension(file);
  }

  private void collectExtension(AuditFiles.Entry file) {
    try {
      allocated = Math.max(allocated, extension.done.join());
    } catch (CompletionException | CancellationException e) {
      long now = System.nanoTime();
      if (lastAllocationFailureLog == 0 || now - lastAllocationFailureLog > TimeUnit.MINUTES.toNanos(1)) {
        lastAllocationFailureLog = now;
        LOG.warning(() -> "audit: could not pre-allocate " + file.name() + " (" + e.getCause()
            + "); writing on without it");
      }
    }
    extension = null;
  }

  /**
   * A file the writer has left (rotation): cut off its zero tail and close it, on the allocator's thread after any
   * extension of it still in progress, so rotation does not wait for either.
   */
  void retire(FileChannel old, long written, AuditFiles.Entry file) throws IOException {
    if (allocator == null) {
      old.force(true);
      old.close();
      return;
    }
    if (extension != null) {
      extension.cancel(); // the old file's tail is cut off anyway: its extension need not go on
    }
    extension = null;
    String name = file.name();
    allocator.execute(() -> {
      try {
        ZeroExtension.finish(old, written);
      } catch (IOException e) {
        LOG.warning(() -> "audit: could not cut the pre-allocated tail off " + name + ": " + e.getMessage()
            + " (readers stop at its first zero byte; the next start does not touch it)");
      }
    });
  }

  /**
   * Completes once the pre-allocation work queued so far (extensions, finished files) is done; at once when
   * pre-allocation is off.
   */
  CompletableFuture<Void> idle() {
    return allocator == null
        ? CompletableFuture.completedFuture(null)
        : CompletableFuture.runAsync(() -> { }, allocator);
  }

  /** At close: lets the work queued so far finish (30 s at most). */
  void stop() {
    if (allocator == null) {
      return;
    }
    allocator.shutdown();
    try {
      if (!allocator.awaitTermination(30, TimeUnit.SECONDS)) {
        LOG.warning("audit: pre-allocation still running at close");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The writer failed: no more zeros. */
  void stopNow() {
    if (allocator != null) {
      allocator.shutdownNow();
    }
  }
}
