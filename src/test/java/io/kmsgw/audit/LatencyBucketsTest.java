package io.kmsgw.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LatencyBucketsTest {
  @Test
  void durations_landInTheFirstBucketWhoseBoundHoldsThem_boundsInclusive() {
    LatencyBuckets b = new LatencyBuckets();
    b.record(0);
    b.record(TimeUnit.MILLISECONDS.toNanos(1)); // exactly 1 ms: at most 1 ms
    b.record(TimeUnit.MILLISECONDS.toNanos(1) + 1);
    b.record(TimeUnit.MILLISECONDS.toNanos(10));
    b.record(TimeUnit.MILLISECONDS.toNanos(11));
    b.record(TimeUnit.MILLISECONDS.toNanos(1000));
    b.record(TimeUnit.SECONDS.toNanos(30));
    Map<String, Long> s = b.snapshot();
    assertEquals(List.of("1", "2", "5", "10", "20", "50", "100", "200", "500", "1000", "+Inf"), List.copyOf(s.keySet()));
    assertEquals(List.of(2L, 1L, 0L, 1L, 1L, 0L, 0L, 0L, 0L, 1L, 1L), List.copyOf(s.values()));
    Map<String, Long> slow = LatencyBuckets.above(s, 10);
    assertEquals(List.of("20", "50", "100", "200", "500", "1000", "+Inf"), List.copyOf(slow.keySet()));
    assertEquals(3, slow.values().stream().mapToLong(Long::longValue).sum(), "11 ms, 1 s and 30 s");
    assertEquals(Map.of("+Inf", 1L), LatencyBuckets.above(s, 1000));
    assertEquals(5, LatencyBuckets.above(s, 1).values().stream().mapToLong(Long::longValue).sum());
    assertThrows(IllegalArgumentException.class, () -> LatencyBuckets.above(s, 3));
  }
}
