package io.kmsgw.hsm.pool;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A bounded pool of logged-in sessions of one token.
 *
 * <p>Borrowing takes the most recently returned session (so hot sessions stay hot and idle ones can age out),
 * opens a new one while fewer than {@code size} are open, and otherwise waits up to the borrow timeout before
 * failing with {@link HsmErrorKind#POOL_EXHAUSTED}. A session idle for longer than {@code validateAfterIdle} is
 * checked ({@code C_GetSessionInfo}) before it is handed out. A session that returns a fatal error is evicted:
 * closed, and a replacement opened if anyone is waiting.
 *
 * <p>The pool never holds the application's only session: the owner keeps one anchor session open outside the
 * pool (closing the last session of an application logs it out, PKCS#11 v2.40 §5.6).
 *
 * @param <S> the session type
 */
public final class SessionPool<S> implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(SessionPool.class.getName());

  /** Opens, checks and closes sessions. */
  public interface Factory<S> {
    S open() throws HsmException;

    boolean isValid(S session);

    void close(S session);
  }

  /** A borrowed session; give it back with {@link SessionPool#release} exactly once. */
  public static final class Lease<S> {
    private final S session;
    private long lastUsedNanos;

    private Lease(S session, long now) {
      this.session = session;
      this.lastUsedNanos = now;
    }

    public S session() {
      return session;
    }
  }

  private final String name;
  private final Factory<S> factory;
  private final int size;
  private final long borrowTimeoutNanos;
  private final long validateAfterIdleNanos;
  private final LongSupplier nanoTime;

  private final LinkedBlockingDeque<Lease<S>> idle = new LinkedBlockingDeque<>();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger inUse = new AtomicInteger();
  private final AtomicInteger waiting = new AtomicInteger();
  private final AtomicLong timeouts = new AtomicLong();
  private final AtomicLong evicted = new AtomicLong();
  private final AtomicLong opened = new AtomicLong();
  private volatile boolean closed;

  public SessionPool(String name, Factory<S> factory, int size, Duration borrowTimeout, Duration validateAfterIdle) {
    this(name, factory, size, borrowTimeout, validateAfterIdle, System::nanoTime);
  }

  SessionPool(String name, Factory<S> factory, int size, Duration borrowTimeout, Duration validateAfterIdle,
      LongSupplier nanoTime) {
    if (size < 1) {
      throw new IllegalArgumentException("pool size must be at least 1");
    }
    this.name = name;
    this.factory = factory;
    this.size = size;
    this.borrowTimeoutNanos = borrowTimeout.toNanos();
    this.validateAfterIdleNanos = validateAfterIdle.toNanos();
    this.nanoTime = nanoTime;
  }

  /** Opens every session now, so the first requests pay no session set-up. */
  public void fill() throws HsmException {
    while (true) {
      if (!reserveSlot()) {
        return;
      }
      putIdle(openReserved());
    }
  }

  public Lease<S> borrow() throws HsmException {
    if (closed) {
      throw new HsmException(HsmErrorKind.SESSION_INVALID, "session pool " + name + " is closed");
    }
    long deadline = nanoTime.getAsLong() + borrowTimeoutNanos;
    waiting.incrementAndGet();
    try {
      while (true) {
        Lease<S> lease = idle.pollFirst();
        if (lease == null && reserveSlot()) {
          lease = openReserved();
        }
        if (lease == null) {
          long remaining = deadline - nanoTime.getAsLong();
          if (remaining > 0) {
            try {
              lease = idle.pollFirst(remaining, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new HsmException(HsmErrorKind.POOL_EXHAUSTED, "interrupted waiting for a session");
            }
          }
          if (lease == null) {
            timeouts.incrementAndGet();
            throw new HsmException(HsmErrorKind.POOL_EXHAUSTED,
                "no free session in pool " + name + " within " + borrowTimeoutNanos / 1_000_000 + " ms");
          }
        }
        if (closed) {
          destroy(lease);
          throw new HsmException(HsmErrorKind.SESSION_INVALID, "session pool " + name + " is closed");
        }
        long now = nanoTime.getAsLong();
        if (now - lease.lastUsedNanos >= validateAfterIdleNanos && !factory.isValid(lease.session)) {
          LOG.warning(() -> "pool " + name + ": idle session failed validation, evicting it");
          evicted.incrementAndGet();
          destroy(lease);
          continue;
        }
        inUse.incrementAndGet();
        return lease;
      }
    } finally {
      waiting.decrementAndGet();
    }
  }

  /**
   * Returns a borrowed session. A broken session is closed and replaced at once, so the pool stays at its size
   * and a waiter does not time out on a slot that will never be given back.
   */
  public void release(Lease<S> lease, boolean broken) {
    inUse.decrementAndGet();
    if (broken || closed) {
      if (broken) {
        evicted.incrementAndGet();
      }
      destroy(lease);
      if (!closed && reserveSlot()) {
        try {
          putIdle(openReserved());
        } catch (HsmException e) {
          LOG.log(Level.WARNING, "pool " + name + ": could not open a replacement session: " + e.getMessage());
        }
      }
      return;
    }
    lease.lastUsedNanos = nanoTime.getAsLong();
    putIdle(lease);
  }

  /**
   * Adds a session to the idle queue; if the pool was closed meanwhile (after {@link #close} drained the queue),
   * takes it back out and closes it, so no session outlives the pool.
   */
  private void putIdle(Lease<S> lease) {
    idle.addFirst(lease);
    if (closed && idle.remove(lease)) {
      destroy(lease);
    }
  }

  private boolean reserveSlot() {
    while (true) {
      int n = open.get();
      if (n >= size) {
        return false;
      }
      if (open.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  private Lease<S> openReserved() throws HsmException {
    try {
      S s = factory.open();
      opened.incrementAndGet();
      return new Lease<>(s, nanoTime.getAsLong());
    } catch (HsmException | RuntimeException e) {
      open.decrementAndGet();
      throw e;
    }
  }

  private void destroy(Lease<S> lease) {
    open.decrementAndGet();
    try {
      factory.close(lease.session);
    } catch (RuntimeException e) {
      LOG.log(Level.FINE, "pool " + name + ": closing a session failed", e);
    }
  }

  public PoolStats stats() {
    return new PoolStats(size, open.get(), inUse.get(), idle.size(), waiting.get(), timeouts.get(), evicted.get(),
        opened.get());
  }

  /** Closes idle sessions now and borrowed ones as they come back. */
  @Override
  public void close() {
    closed = true;
    Lease<S> lease;
    while ((lease = idle.pollFirst()) != null) {
      destroy(lease);
    }
  }

  /** Gauges and counters of the pool. */
  public record PoolStats(
      int size, int open, int inUse, int idle, int waiting, long timeouts, long evicted, long opened) {}
}
