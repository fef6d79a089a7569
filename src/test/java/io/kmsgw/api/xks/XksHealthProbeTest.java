package io.kmsgw.api.xks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kmsgw.kms.ExternalKeyService;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The deep health check's bookkeeping, with a stand-in for the HSM round trip: it always answers, and in time. */
class XksHealthProbeTest {
  static final ExternalKeyService.Probe OK = new ExternalKeyService.Probe("ks", true, 10, 0, "AES-GCM round trip");

  static XksApi api(Function<String, CompletableFuture<ExternalKeyService.Probe>> prober, Duration abandonAfter) {
    return new XksApi(List.of(), null, prober, id -> new XksApi.EkmInfo("v", "m"), 1, Duration.ZERO,
        Duration.ofMillis(50), abandonAfter);
  }

  static String status(XksApi api) throws Exception {
    return XksApi.status(api.probe("ks").get(5, TimeUnit.SECONDS));
  }

  @Test
  void aProbeThatThrowsBeforeItStarts_isUnavailable_andTheNextRequestProbesAgain() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    XksApi api = api(id -> {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("The key store ks is DISCONNECTING; its HSM cannot be used now.");
      }
      return CompletableFuture.completedFuture(OK);
    }, Duration.ofSeconds(10));
    assertEquals("UNAVAILABLE", status(api));
    assertEquals("ACTIVE", status(api));
    assertEquals(2, calls.get());
  }

  @Test
  void aProbeThatFails_isUnavailable_andDoesNotStayInFlight() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    XksApi api = api(id -> calls.incrementAndGet() == 1
        ? CompletableFuture.failedFuture(new IllegalStateException("boom")) : CompletableFuture.completedFuture(OK),
        Duration.ofSeconds(10));
    assertEquals("UNAVAILABLE", status(api));
    assertEquals("ACTIVE", status(api));
  }

  @Test
  void aProbeThatNeverAnswers_isAnsweredInTime_asDegradedWhileMerelySlow() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    XksApi api = api(id -> {
      calls.incrementAndGet();
      return new CompletableFuture<>();
    }, Duration.ofSeconds(60));
    long start = System.nanoTime();
    assertEquals("DEGRADED", status(api));
    assertEquals("DEGRADED", status(api));
    assertEquals(1, calls.get(), "requests share the check under way");
    assertEquals(true, System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2));
  }

  @Test
  void aProbeThatHangsPastTheAbandonLimit_isUnavailable_andALaterRequestProbesAgain() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    XksApi api = api(id -> calls.incrementAndGet() == 1 ? new CompletableFuture<>()
        : CompletableFuture.completedFuture(OK), Duration.ZERO);
    assertEquals("UNAVAILABLE", status(api));
    String next = status(api);
    if (calls.get() == 1) {
      // this request found the hung check and abandoned it; the next one starts afresh
      assertEquals("UNAVAILABLE", next);
      next = status(api);
    }
    assertEquals("ACTIVE", next);
    assertEquals(2, calls.get());
  }
}
