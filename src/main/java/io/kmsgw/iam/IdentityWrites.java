package io.kmsgw.iam;

import io.kmsgw.error.KmsException;
import io.kmsgw.store.StoreException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

/**
 * Runs identity changes one at a time on the store executor: check against the current state, write durably, then
 * publish the new state. A store failure becomes an internal error the client may retry.
 */
final class IdentityWrites {
  private final SerialExecutor serial;

  IdentityWrites(Executor storeExecutor) {
    this.serial = new SerialExecutor(storeExecutor);
  }

  <T> CompletableFuture<T> submit(Supplier<T> work) {
    Supplier<T> guarded = () -> {
      try {
        return work.get();
      } catch (StoreException e) {
        throw KmsException.internal("The metadata store failed. You can retry the request.", e);
      }
    };
    try {
      return CompletableFuture.supplyAsync(guarded, serial);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new KmsException(io.kmsgw.error.ErrorCode.THROTTLING,
          "Rate exceeded: too many requests are waiting. Retry with backoff.", e));
    }
  }
}
