package io.kmsgw.log;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Lets one log line through per interval and counts the ones held back, for a condition that repeats on every
 * request (a full disk refuses them all) and would otherwise flood the log, whose disk may be the one that is full.
 * Thread-safe without locks.
 */
public final class Throttle {
  private final long intervalNanos;
  private final LongSupplier nanoTime;
  private final AtomicLong next;
  private final AtomicLong held = new AtomicLong();

  public Throttle(long intervalNanos) {
    this(intervalNanos, System::nanoTime);
  }

  /** With the clock given, for tests. */
  Throttle(long intervalNanos, LongSupplier nanoTime) {
    this.intervalNanos = intervalNanos;
    this.nanoTime = nanoTime;
    this.next = new AtomicLong(nanoTime.getAsLong());
  }

  /**
   * -1 when this line is to be held back (and counted); otherwise the number of lines held back since the last
   * line let through, which the caller should mention in it.
   */
  public long pass() {
    long now = nanoTime.getAsLong();
    long due = next.get();
    if (now - due < 0 || !next.compareAndSet(due, now + intervalNanos)) {
      held.incrementAndGet();
      return -1;
    }
    return held.getAndSet(0);
  }
}
