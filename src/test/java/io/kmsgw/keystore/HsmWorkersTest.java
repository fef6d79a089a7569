package io.kmsgw.keystore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Overload and HSM failures as the API sees them; the HSM is a stand-in here (logic above the port). */
class HsmWorkersTest {
  /** Runs work with no session; lets a test hold the only worker. */
  private static final class StandIn implements Hsm {
    final CountDownLatch release = new CountDownLatch(1);
    HsmException failWith;
    /** What the work threw back to the session's owner (who evicts the session on a session-fatal kind). */
    final CompletableFuture<HsmException> workThrew = new CompletableFuture<>();

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
      try {
        T result = work.run(null);
        workThrew.complete(null);
        return result;
      } catch (HsmException e) {
        workThrew.complete(e);
        throw e;
      }
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
      assertMaps(workers, HsmErrorKind.TOKEN_REMOVED, "k", ErrorCode.KEY_UNAVAILABLE);
      assertMaps(workers, HsmErrorKind.CALL_TIMED_OUT, "k", ErrorCode.KEY_UNAVAILABLE);
      assertMaps(workers, HsmErrorKind.CALL_TIMED_OUT, null, ErrorCode.DEPENDENCY_TIMEOUT);
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

  @Test
  void callRunningLongerThanTheCallTimeout_isAnsweredKeyUnavailable_andItsSessionIsEvictedWhenItReturns()
      throws Exception {
    ExecutorService one = Executors.newSingleThreadExecutor();
    try {
      HsmWorkers workers = new HsmWorkers(one, Duration.ofSeconds(5), Duration.ofMillis(150));
      StandIn hsm = new StandIn();
      long start = System.nanoTime();
      CompletableFuture<String> hung = workers.run(hsm, "arn:key", s -> "late");
      KmsException e = assertThrows(KmsException.class, () -> KmsFixture.await(hung));
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertEquals(ErrorCode.KEY_UNAVAILABLE, e.code(), e.getMessage());
      assertTrue(tookMs >= 140 && tookMs < 2_000, "answered at the call timeout, not when the call ended: " + tookMs);
      assertFalse(hsm.workThrew.isDone(), "the call itself still runs");

      hsm.release.countDown();
      HsmException late = hsm.workThrew.get(5, TimeUnit.SECONDS);
      assertEquals(HsmErrorKind.CALL_TIMED_OUT, late.kind(), "the late return tells the pool to close the session");
      assertTrue(late.kind().sessionFatal());
      assertFalse(late.kind().moduleFatal(), "one slow call does not take the whole connection down");
    } finally {
      one.shutdownNow();
    }
  }

  @Test
  void requestAnsweredWhileItsSessionWasBorrowed_runsNoWork_andEndedTellsWhenTheWorkerIsDone() throws Exception {
    ExecutorService one = Executors.newSingleThreadExecutor();
    try {
      HsmWorkers workers = new HsmWorkers(one, Duration.ofSeconds(5), Duration.ofMillis(100));
      StandIn hsm = new StandIn(); // holds the worker before the work, as a slow C_OpenSession in borrow would
      java.util.concurrent.atomic.AtomicBoolean ran = new java.util.concurrent.atomic.AtomicBoolean();
      HsmWorkers.Tracked<String> call = workers.runTracked(hsm, "arn:key", s -> {
        ran.set(true);
        return "for nobody";
      });
      assertThrows(KmsException.class, () -> KmsFixture.await(call.answer()));
      assertFalse(call.ended().isDone(), "the worker still holds the call");
      hsm.release.countDown();
      call.ended().get(5, TimeUnit.SECONDS);
      assertFalse(ran.get(), "work whose request was already answered must not run (a CreateKey rolled back "
          + "before its generation started would otherwise leave an object nobody owns)");
      assertEquals(HsmErrorKind.CALL_TIMED_OUT, hsm.workThrew.get(5, TimeUnit.SECONDS).kind());
    } finally {
      one.shutdownNow();
    }
  }

  @Test
  void lateDeviceFailure_stillReachesTheConnection() throws Exception {
    ExecutorService one = Executors.newSingleThreadExecutor();
    try {
      HsmWorkers workers = new HsmWorkers(one, Duration.ofSeconds(5), Duration.ofMillis(100));
      StandIn hsm = new StandIn();
      hsm.release.countDown();
      CountDownLatch answered = new CountDownLatch(1); // the library gives up only after the request was answered
      CompletableFuture<Integer> call = workers.run(hsm, "arn:key", s -> {
        try {
          answered.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        throw new HsmException(HsmErrorKind.DEVICE_ERROR, "the library gave up late");
      });
      assertEquals(ErrorCode.KEY_UNAVAILABLE,
          assertThrows(KmsException.class, () -> KmsFixture.await(call)).code());
      answered.countDown();
      HsmException late = hsm.workThrew.get(5, TimeUnit.SECONDS);
      assertEquals(HsmErrorKind.DEVICE_ERROR, late.kind(), "a late device error is not hidden as a timeout: the "
          + "connection must see it to re-initialise");
    } finally {
      one.shutdownNow();
    }
  }

  @Test
  void callWithoutAKey_thatRunsTooLong_isDependencyTimeout() {
    ExecutorService one = Executors.newSingleThreadExecutor();
    try {
      HsmWorkers workers = new HsmWorkers(one, Duration.ofSeconds(5), Duration.ofMillis(100));
      StandIn hsm = new StandIn();
      KmsException e = assertThrows(KmsException.class, () -> KmsFixture.await(workers.run(hsm, null, s -> 1)));
      assertEquals(ErrorCode.DEPENDENCY_TIMEOUT, e.code());
      hsm.release.countDown();
    } finally {
      one.shutdownNow();
    }
  }

  @Test
  void callFinishingInTime_keepsItsSessionAndItsAnswer() throws Exception {
    ExecutorService one = Executors.newSingleThreadExecutor();
    try {
      HsmWorkers workers = new HsmWorkers(one, Duration.ofSeconds(5), Duration.ofSeconds(5));
      StandIn hsm = new StandIn();
      hsm.release.countDown();
      assertEquals("in time", workers.run(hsm, "arn:key", s -> "in time").get(5, TimeUnit.SECONDS));
      assertNull(hsm.workThrew.get(5, TimeUnit.SECONDS), "nothing told the pool to evict the session");
    } finally {
      one.shutdownNow();
    }
  }
}
