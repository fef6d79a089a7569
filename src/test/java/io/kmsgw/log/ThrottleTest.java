package io.kmsgw.log;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ThrottleTest {
  @Test
  void firstLinePasses_thenOnePerInterval_withTheNumberHeldBack() {
    AtomicLong clock = new AtomicLong(1_000);
    Throttle t = new Throttle(60, clock::get);
    assertEquals(0, t.pass(), "the first line passes at once");
    assertEquals(-1, t.pass());
    clock.addAndGet(59);
    assertEquals(-1, t.pass(), "still within the interval");
    clock.addAndGet(1);
    assertEquals(2, t.pass(), "the next line says how many were held back");
    assertEquals(-1, t.pass());
    clock.addAndGet(600);
    assertEquals(1, t.pass());
    clock.addAndGet(60);
    assertEquals(0, t.pass(), "nothing held back since");
  }

  @Test
  void underContention_exactlyOneLinePassesPerInterval_andNoneIsUncounted() throws Exception {
    AtomicLong clock = new AtomicLong(0);
    Throttle t = new Throttle(1_000_000, clock::get);
    AtomicLong passed = new AtomicLong();
    AtomicLong held = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (int i = 0; i < 4; i++) {
      pool.execute(() -> {
        for (int j = 0; j < 10_000; j++) {
          if (t.pass() < 0) {
            held.incrementAndGet();
          } else {
            passed.incrementAndGet();
          }
        }
      });
    }
    pool.shutdown();
    pool.awaitTermination(30, TimeUnit.SECONDS);
    assertEquals(1, passed.get());
    assertEquals(39_999, held.get());
    clock.addAndGet(1_000_000);
    assertEquals(39_999, t.pass(), "every line held back is counted in the next one");
  }
}
