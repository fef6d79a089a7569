package io.kmsgw.iam;

import io.kmsgw.async.Completions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
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
    return Completions.on(serial, work);
  }

}
