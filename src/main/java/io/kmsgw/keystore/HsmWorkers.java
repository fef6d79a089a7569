package io.kmsgw.keystore;

import io.kmsgw.async.Completions;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The worker pool for HSM calls, one thread per session. A call that waited in the queue longer than the pool's
 * borrow timeout is not run: it answers ThrottlingException, as a session that did not free up in time would, so
 * that under overload clients back off instead of every request slowing down without bound.
 */
public final class HsmWorkers {
  private final Executor executor;
  private final long maxQueueWaitNanos;

  public HsmWorkers(Executor executor, Duration maxQueueWait) {
    this.executor = executor;
    this.maxQueueWaitNanos = maxQueueWait.toNanos();
  }

  /** Runs HSM work on the pool; HSM failures become API errors for the given key (may be null). */
  public <T> CompletableFuture<T> run(Hsm hsm, String keyArn, Hsm.SessionWork<T> work) {
    long queued = System.nanoTime();
    return Completions.on(executor, () -> {
      if (System.nanoTime() - queued > maxQueueWaitNanos) {
        throw new KmsException(ErrorCode.THROTTLING,
            "Rate exceeded: the HSM is busy; the request waited longer than "
                + maxQueueWaitNanos / 1_000_000 + " ms. Retry with backoff.");
      }
      try {
        return hsm.withSession(work);
      } catch (HsmException e) {
        throw HsmErrors.toKms(e, keyArn);
      }
    });
  }

  /** The executor itself, for background work that must not be dropped (rollback). */
  Executor executor() {
    return executor;
  }
}
