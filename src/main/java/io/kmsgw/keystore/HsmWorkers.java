package io.kmsgw.keystore;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * The worker pool for HSM calls, one thread per session, and the two deadlines of a call.
 *
 * <ul>
 *   <li>Waiting: a call that waited in the queue longer than the pool's borrow timeout is not run; it answers
 *       ThrottlingException, as a session that did not free up in time would, so that under overload clients back
 *       off instead of every request slowing down without bound.
 *   <li>Running: a call that runs longer than the call timeout ({@code hsm.pool.call_timeout_ms}) is answered at
 *       once as the HSM failing (KeyUnavailableException, or DependencyTimeoutException without a key), while its
 *       thread stays in the PKCS#11 library until the library returns: Java cannot interrupt a native call. When
 *       it does return, its session is closed instead of going back to the pool, since nobody knows what state a
 *       call that hung left it in.
 * </ul>
 */
public final class HsmWorkers {
  private static final Logger LOG = Logger.getLogger(HsmWorkers.class.getName());

  /** One timer thread for every store's call deadlines: it only completes futures. */
  private static final ScheduledThreadPoolExecutor DEADLINES = deadlines();

  private final Executor executor;
  private final long maxQueueWaitNanos;
  private final long callTimeoutMillis;

  /** {@code hsm.pool.call_timeout_ms}'s default. */
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(10);

  /** Workers with the default call timeout. */
  public HsmWorkers(Executor executor, Duration maxQueueWait) {
    this(executor, maxQueueWait, DEFAULT_CALL_TIMEOUT);
  }

  /**
   * @param maxQueueWait the borrow timeout: the longest wait for a worker before ThrottlingException
   * @param callTimeout the longest a call may run before its request is answered without it
   */
  public HsmWorkers(Executor executor, Duration maxQueueWait, Duration callTimeout) {
    this.executor = executor;
    this.maxQueueWaitNanos = maxQueueWait.toNanos();
    this.callTimeoutMillis = callTimeout.toMillis();
  }

  /**
   * A call's answer, and when its worker is done with it: after the answer when the call outlived its timeout.
   * Work that must be undone after a failure (CreateKey's rollback) waits for {@code ended}, not for the answer.
   */
  public record Tracked<T>(CompletableFuture<T> answer, CompletableFuture<Void> ended) {}

  /** Runs HSM work on the pool; HSM failures become API errors for the given key (may be null). */
  public <T> CompletableFuture<T> run(Hsm hsm, String keyArn, Hsm.SessionWork<T> work) {
    return runTracked(hsm, keyArn, work).answer();
  }

  /** {@link #run}, also telling when the worker is done with the call. */
  public <T> Tracked<T> runTracked(Hsm hsm, String keyArn, Hsm.SessionWork<T> work) {
    long queued = System.nanoTime();
    CompletableFuture<T> answer = new CompletableFuture<>();
    CompletableFuture<Void> ended = new CompletableFuture<>();
    try {
      executor.execute(() -> {
        try {
          call(hsm, keyArn, work, queued, answer);
        } finally {
          ended.complete(null);
        }
      });
    } catch (RejectedExecutionException e) {
      answer.completeExceptionally(new KmsException(ErrorCode.THROTTLING,
          "Rate exceeded: too many requests are waiting. Retry with backoff.", e));
      ended.complete(null);
    }
    return new Tracked<>(answer, ended);
  }

  private <T> void call(Hsm hsm, String keyArn, Hsm.SessionWork<T> work, long queued, CompletableFuture<T> answer) {
    if (System.nanoTime() - queued > maxQueueWaitNanos) {
      answer.completeExceptionally(new KmsException(ErrorCode.THROTTLING,
          "Rate exceeded: the HSM is busy; the request waited longer than "
              + maxQueueWaitNanos / 1_000_000 + " ms. Retry with backoff."));
      return;
    }
    // whoever sets it first answers: the call, or the timer
    AtomicBoolean answered = new AtomicBoolean();
    ScheduledFuture<?> timer = DEADLINES.schedule(() -> {
      if (answered.compareAndSet(false, true)) {
        answer.completeExceptionally(HsmErrors.toKms(new HsmException(HsmErrorKind.CALL_TIMED_OUT,
            "the HSM call did not return within " + callTimeoutMillis + " ms"), keyArn));
      }
    }, callTimeoutMillis, TimeUnit.MILLISECONDS);
    try {
      T result = hsm.withSession(s -> {
        if (answered.get()) {
          // the timer answered while the session was being borrowed: the work runs for nobody, so not at all
          throw new HsmException(HsmErrorKind.CALL_TIMED_OUT, "the request was answered before its work started");
        }
        T r;
        try {
          r = work.run(s);
        } catch (HsmException | RuntimeException e) {
          lateReturn(answered, e);
          throw e;
        }
        lateReturn(answered, null);
        return r;
      });
      if (answered.compareAndSet(false, true)) {
        answer.complete(result);
      }
    } catch (HsmException e) {
      if (answered.compareAndSet(false, true)) {
        answer.completeExceptionally(HsmErrors.toKms(e, keyArn));
      }
    } catch (RuntimeException | Error e) {
      if (answered.compareAndSet(false, true)) {
        answer.completeExceptionally(e);
      }
    } finally {
      timer.cancel(false);
    }
  }

  /**
   * After the work on a session returned: if its request was already answered by the timer, the session is evicted
   * (the exception's kind tells the pool so) and the late outcome only logged.
   */
  private void lateReturn(AtomicBoolean answered, Exception failure) throws HsmException {
    if (answered.get() && failure instanceof HsmException h && h.kind().moduleFatal()) {
      // a late device failure still tells the connection, which re-initialises or reconnects
      LOG.warning(() -> "an HSM call failed after its " + callTimeoutMillis + " ms call timeout: " + h.getMessage());
      throw h;
    }
    if (answered.get()) {
      LOG.warning(() -> "an HSM call returned after its " + callTimeoutMillis + " ms call timeout"
          + (failure == null ? "" : " with " + failure) + "; closing its session");
      throw new HsmException(HsmErrorKind.CALL_TIMED_OUT, -1, null,
          "the call returned after its request was answered", failure);
    }
  }

  /** The executor itself, for background work that must not be dropped (rollback). */
  Executor executor() {
    return executor;
  }

  private static ScheduledThreadPoolExecutor deadlines() {
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "kmsgw-hsm-deadlines");
      t.setDaemon(true);
      return t;
    });
    // most calls finish long before their deadline: cancelled timers must not pile up in the queue
    timer.setRemoveOnCancelPolicy(true);
    return timer;
  }
}
