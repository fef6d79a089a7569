package io.kmsgw.kms;

import io.kmsgw.error.KmsException;
import io.kmsgw.store.StoreException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

/** Runs blocking work on the right worker pool and hands back a future. */
final class Completions {
  private Completions() {}

  /** Runs blocking work (the metadata store) on the executor; store failures become KMSInternalException. */
  static <T> CompletableFuture<T> on(Executor executor, Supplier<T> work) {
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

  /** The failure inside a CompletionException. */
  static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
