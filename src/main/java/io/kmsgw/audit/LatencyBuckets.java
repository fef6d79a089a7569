package io.kmsgw.audit;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counts durations by fixed upper bounds in milliseconds, cumulatively since start: what {@code /healthz/detail}
 * shows of the audit trail's durable writes and what the benchmark subtracts per scenario to tell a disk that
 * stalls from a gateway that does.
 */
public final class LatencyBuckets {
  /** Upper bounds (inclusive) in milliseconds; a last bucket counts what is longer than the last bound. */
  static final long[] BOUNDS_MS = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

  /** The key of the bucket beyond the last bound. */
  public static final String BEYOND = "+Inf";

  private final AtomicLongArray counts = new AtomicLongArray(BOUNDS_MS.length + 1);

  /** Counts one duration. */
  public void record(long nanos) {
    int i = 0;
    while (i < BOUNDS_MS.length && nanos > TimeUnit.MILLISECONDS.toNanos(BOUNDS_MS[i])) {
      i++;
    }
    counts.incrementAndGet(i);
  }

  /** The counts so far, in bound order: {@code "1"} for at most 1 ms, ..., {@code "+Inf"} for beyond 1000 ms. */
  public Map<String, Long> snapshot() {
    Map<String, Long> m = new LinkedHashMap<>();
    for (int i = 0; i < BOUNDS_MS.length; i++) {
      m.put(Long.toString(BOUNDS_MS[i]), counts.get(i));
    }
    m.put(BEYOND, counts.get(BOUNDS_MS.length));
    return m;
  }

  /** The buckets of a snapshot for durations longer than {@code ms}, which must be one of the bounds. */
  public static Map<String, Long> above(Map<String, Long> snapshot, long ms) {
    String bound = Long.toString(ms);
    if (!snapshot.containsKey(bound)) {
      throw new IllegalArgumentException(ms + " ms is not a bucket bound");
    }
    Map<String, Long> m = new LinkedHashMap<>();
    boolean past = false;
    for (Map.Entry<String, Long> e : snapshot.entrySet()) {
      if (past) {
        m.put(e.getKey(), e.getValue());
      }
      past |= e.getKey().equals(bound);
    }
    return m;
  }
}
