package io.kmsgw.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Pre-allocation of the audit file being written ({@link Preallocation}): one extension of it with zeros ahead of the
 * writer. Zeros being written from {@code from}: {@code [from, zeroedTo)} is zeros and durable; the
 * writer sets {@code stop} to end it after the piece in progress. {@code done} completes with the new file end.
 */
final class ZeroExtension {
  final long from;
  volatile long zeroedTo;
  volatile boolean stop;
  /** Taken by the allocator when it starts, or by the writer to cancel it before it starts. */
  final AtomicBoolean claimed = new AtomicBoolean();
  CompletableFuture<Long> done;

  ZeroExtension(long from) {
    this.from = from;
    this.zeroedTo = from;
  }

  /** Ends it after the piece in progress, or before it starts; true if it had not started. */
  boolean cancel() {
    stop = true;
    return claimed.compareAndSet(false, true);
  }

  /** One piece of an extension (see {@link #zeros}). */
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(256 << 10).asReadOnlyBuffer();

  /**
   * Writes up to {@code length} zero bytes at the extension's start and makes them durable, a piece at a time: an
   * fdatasync covers the whole file and waits for every page of it being written out, so the writer's fsyncs wait
   * for at most one piece of zeros, never for the whole step. Stops early when asked. Returns the new end of the
   * zeros.
   */
  static long zeros(FileChannel ch, ZeroExtension e, long length) {
    if (!e.claimed.compareAndSet(false, true)) {
      return e.from; // cancelled before it started
    }
    try {
      long pos = e.from;
      long end = e.from + length;
      while (pos < end && !e.stop) {
        ByteBuffer z = ZEROS.duplicate();
        z.limit((int) Math.min(z.capacity(), end - pos));
        while (z.hasRemaining()) {
          pos += ch.write(z, pos);
        }
        ch.force(false);
        e.zeroedTo = pos;
      }
      return pos;
    } catch (IOException x) {
      throw new java.io.UncheckedIOException(x);
    }
  }

  /** Cuts a file back to its written bytes, makes that durable and closes it. */
  static void finish(FileChannel ch, long written) throws IOException {
    try (ch) {
      if (ch.size() > written) {
        ch.truncate(written);
      }
      ch.force(true);
    }
  }
}
