package io.kmsgw.keystore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmStats;
import io.kmsgw.testing.KmsFixture;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** Overload and HSM failures as the API sees them; the HSM is a stand-in here (logic above the port). */
class HsmWorkersTest {
  /** Runs work with no session; lets a test hold the only worker. */
  private static final class StandIn implements Hsm {
    final CountDownLatch release = new CountDownLatch(1);
    HsmException failWith;

    @Override
    public <T> T withSession(SessionWork<T> work) throws HsmException {
      if (failWith != null) {
        throw failWith;
      }
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return work.run(null);
    }

    @Override
    public void probe() {}

    @Override
    public io.kmsgw.hsm.TokenMechanisms mechanisms() {
      return io.kmsgw.hsm.TokenMechanisms.NONE;
    }

    @Override
    public HsmStats stats() {
      return new HsmStats(1, 1, 0, 1, 0, 0, 0, 1, 1, 0);
    }

    @Override
    public void close() {}
  }

  @Test
  void callQueuedLongerThanTheBorrowTimeout_failsThrottlingWithoutRunning() throws Exception {
    ExecutorService one = Executors.newSingleThreadExecutor();
    try {
      HsmWorkers workers = new HsmWorkers(one, Duration.ofMillis(100));
      StandIn hsm = new StandIn();
      CompletableFuture<String> first = workers.run(hsm, null, s -> "first");
      CompletableFuture<String> second = workers.run(hsm, null, s -> "second ran");
      Thread.sleep(250);
      hsm.release.countDown();
      assertEquals("first", first.get());
      KmsException e = assertThrows(KmsException.class, () -> KmsFixture.await(second));
      assertEquals(ErrorCode.THROTTLING, e.code());
    } finally {
      one.shutdownNow();
    }
  }

  @Test
  void hsmErrors_becomeTheApiErrorsClientsCanActOn() {
    ExecutorService one = Executors.newSingleThreadExecutor();
    try {
      HsmWorkers workers = new HsmWorkers(one, Duration.ofSeconds(5));
      assertMaps(workers, HsmErrorKind.POOL_EXHAUSTED, "k", ErrorCode.THROTTLING);
      assertMaps(workers, HsmErrorKind.BAD_CIPHERTEXT, "k", ErrorCode.INVALID_CIPHERTEXT);
      assertMaps(workers, HsmErrorKind.DEVICE_ERROR, "k", ErrorCode.KEY_UNAVAILABLE);
      assertMaps(workers, HsmErrorKind.DEVICE_ERROR, null, ErrorCode.DEPENDENCY_TIMEOUT);
      assertMaps(workers, HsmErrorKind.KEY_NOT_FOUND, "k", ErrorCode.KMS_INTERNAL);
      assertMaps(workers, HsmErrorKind.OTHER, "k", ErrorCode.KMS_INTERNAL);
    } finally {
      one.shutdownNow();
    }
  }

  private static void assertMaps(HsmWorkers workers, HsmErrorKind kind, String keyArn, ErrorCode expected) {
    StandIn hsm = new StandIn();
    hsm.failWith = new HsmException(kind, 0x5, "CKR_GENERAL_ERROR", "detail for the log only", null);
    KmsException e = assertThrows(KmsException.class, () -> KmsFixture.await(workers.run(hsm, keyArn, s -> 1)));
    assertEquals(expected, e.code(), kind.name());
    assertEquals(false, e.getMessage().contains("CKR_"), "no PKCS#11 detail reaches the client: " + e.getMessage());
  }
}
