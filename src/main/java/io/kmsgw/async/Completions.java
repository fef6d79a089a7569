package io.kmsgw.async;

import io.kmsgw.error.KmsException;
import io.kmsgw.store.StoreException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

/** Runs blocking work on the right worker pool and hands back a future. */
public final class Completions {
  private Completions() {}

  /** Runs blocking work (the metadata store) on the executor; store failures become KMSInternalException. */
  public static <T> CompletableFuture<T> on(Executor executor, Supplier<T> work) {
    Supplier<T> guarded = () -> {
      try {
        return work.get();
      } catch (StoreException e) {
        throw KmsException.internal("The metadata store failed. You can retry the request.", e);
      }
    };
    try {
      return CompletableFuture.supplyAsync(guarded, executor);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new KmsException(io.kmsgw.error.ErrorCode.THROTTLING,
          "Rate exceeded: too many requests are waiting. Retry with backoff.", e));
    }
  }

  /**
   * How long background work (on the lifecycle thread, or while connecting) waits for one HSM call: a hung HSM
   * must not hold that thread, and with it every other store's management, for ever.
   */
  public static final java.time.Duration HSM_CALL_LIMIT = java.time.Duration.ofSeconds(30);

  /**
   * Waits for HSM work from a background thread, at most {@link #HSM_CALL_LIMIT}; its failure is rethrown
   * unwrapped, and a timeout is DependencyTimeoutException.
   */
  public static <T> T await(CompletableFuture<T> f) {
    try {
      return f.orTimeout(HSM_CALL_LIMIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS).join();
    } catch (CompletionException e) {
      Throwable t = unwrap(e);
      if (t instanceof java.util.concurrent.TimeoutException) {
        throw new KmsException(io.kmsgw.error.ErrorCode.DEPENDENCY_TIMEOUT, "The HSM did not answer within "
            + HSM_CALL_LIMIT.toSeconds() + " s.", t);
      }
      throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
    }
  }

  /** The failure inside a CompletionException. */
  public static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
