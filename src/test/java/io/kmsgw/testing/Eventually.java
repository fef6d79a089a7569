package io.kmsgw.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition that background work (a reconnect, a retry) makes true, up to 10 seconds. */
public final class Eventually {
  private Eventually() {}

  /** Returns once {@code condition} holds; fails naming {@code what} after 10 s. */
  public static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(10);
    }
  }
}
